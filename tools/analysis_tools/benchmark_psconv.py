"""Speed of PSConv2d against nn.Conv2d and a dilated nn.Conv2d of the same shape, and of HBONet against
MobileNetV2 at batch 1: ratios to a baseline measured in the same run, never asserted anywhere.

Papers: "PSConv: Squeezing Feature Pyramid into One Compact Poly-Scale Convolutional Layer" (ECCV 2020,
arXiv 2007.06191); "HBONet: Harmonious Bottleneck on Two Orthogonal Dimensions" (ICCV 2019, arXiv 1908.03888).

Operators at the ResNet-50 bottleneck 3x3 shapes (64@56, 128@28, 256@14, 512@7): ``conv`` (3x3, dilation 1, the
baseline), ``dilated`` (3x3, dilation 2), ``psconv`` (mmext's compact layout: effective weights only, the FLOPs of
``conv``) and ``psconv_release`` (the release's three convs with the dense masked one, 1.5x FLOPs). Per case: eval
forward and a train step (forward + backward + SGD step). Backbones: HBONet 1.0x vs MobileNetV2 1.0x (mmpretrain),
eval forward at batch 1, 224x224, and PS-ResNet-50 vs ResNet-50.

Example (the CPU numbers in configs/psconv/README.md and docs/benchmarks.md)::

    OMP_NUM_THREADS=1 python tools/analysis_tools/benchmark_psconv.py --batch-size 8 --iters 5 --markdown
"""
import argparse
import json
from typing import Callable, Dict, List

import torch
import torch.nn as nn

from mmext.backbones import HBONet, PSResNet
from mmext.ops import PSConv2d
from mmext.utils.benchmark import measure

STAGES = ((64, 56), (128, 28), (256, 14), (512, 7))


def _ops(c: int) -> Dict[str, nn.Module]:
    return {
        'conv': nn.Conv2d(c, c, 3, 1, 1, bias=False),
        'dilated': nn.Conv2d(c, c, 3, 1, 2, 2, bias=False),
        'psconv': PSConv2d(c, c, 3, 1, 1, dilation=2),
        'psconv_release': PSConv2d(c, c, 3, 1, 1, dilation=2, weight_layout='release'),
    }


def _train_step(m: nn.Module, x: torch.Tensor) -> Callable[[], None]:
    opt = torch.optim.SGD(m.parameters(), lr=1e-3, momentum=0.9)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        m(x).float().mean().backward()
        opt.step()

    return step


def bench_ops(batch: int, warmup: int, iters: int) -> List[dict]:
    rows = []
    for c, hw in STAGES:
        x = torch.randn(batch, c, hw, hw)
        for name, m in _ops(c).items():
            m.eval()
            with torch.no_grad():
                fwd = measure(lambda: m(x), warmup, iters)['median_ms']
            m.train()
            train = measure(_train_step(m, x), warmup, iters)['median_ms']
            rows.append(dict(kind='op', shape=f'{c}@{hw}', batch=batch, model=name, fwd_ms=fwd, train_ms=train,
                             params=sum(p.numel() for p in m.parameters())))
    return rows


def bench_backbones(warmup: int, iters: int) -> List[dict]:
    from mmpretrain.models import MobileNetV2, ResNet
    rows = []
    x = torch.randn(1, 3, 224, 224)
    resnet = ResNet(depth=50)
    cases = [('MobileNetV2-1.0', MobileNetV2(widen_factor=1.0)), ('HBONet-1.0', HBONet(1.0)),
             ('ResNet-50', resnet), ('PS-ResNet-50', PSResNet(depth=50)),
             ('PS-ResNet-50 (release layout)', PSResNet(depth=50, weight_layout='release'))]
    for name, m in cases:
        m.eval()
        with torch.no_grad():
            r = measure(lambda: m(x), warmup, iters)
        rows.append(dict(kind='backbone', model=name, batch=1, fwd_ms=r['median_ms'], min_ms=r['min_ms'],
                         params=sum(p.numel() for p in m.parameters())))
    return rows


def to_markdown(rows: List[dict]) -> str:
    out = ['| shape | batch | op | params | fwd ms | fwd / conv | fwd / dilated | train ms | train / conv '
           '| train / dilated |', '|---|---|---|---|---|---|---|---|---|---|']
    ops = [r for r in rows if r['kind'] == 'op']
    for r in ops:
        base = {b['model']: b for b in ops if b['shape'] == r['shape']}
        out.append(f"| {r['shape']} | {r['batch']} | {r['model']} | {r['params']:,} | {r['fwd_ms']:.2f} | "
                   f"{r['fwd_ms'] / base['conv']['fwd_ms']:.2f} | {r['fwd_ms'] / base['dilated']['fwd_ms']:.2f} | "
                   f"{r['train_ms']:.2f} | {r['train_ms'] / base['conv']['train_ms']:.2f} | "
                   f"{r['train_ms'] / base['dilated']['train_ms']:.2f} |")
    bbs = {r['model']: r for r in rows if r['kind'] == 'backbone'}
    if bbs:
        out += ['', '| backbone (224x224, batch 1, eval) | params | median ms | min ms | ratio |',
                '|---|---|---|---|---|']
        for name, r in bbs.items():
            ref = bbs['MobileNetV2-1.0'] if 'Net-1.0' in name else bbs['ResNet-50']
            out.append(f"| {name} | {r['params']:,} | {r['fwd_ms']:.1f} | {r['min_ms']:.1f} | "
                       f"{r['fwd_ms'] / ref['fwd_ms']:.2f} vs {ref['model']} |")
    return '\n'.join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description='PSConv2d and HBONet speed against same-run baselines')
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--iters', type=int, default=5)
    parser.add_argument('--backbone-iters', type=int, default=10)
    parser.add_argument('--skip-backbones', action='store_true')
    parser.add_argument('--markdown', action='store_true')
    args = parser.parse_args()
    torch.manual_seed(0)
    rows = bench_ops(args.batch_size, args.warmup, args.iters)
    if not args.skip_backbones:
        rows += bench_backbones(args.warmup, args.backbone_iters)
    print(json.dumps(rows, indent=1))
    if args.markdown:
        print(to_markdown(rows))


if __name__ == '__main__':
    main()
