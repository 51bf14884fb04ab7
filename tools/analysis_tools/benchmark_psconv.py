"""Speed of PSConv2d against nn.Conv2d and a dilated nn.Conv2d of the same shape, and of HBONet against
MobileNetV2 at batch 1: ratios to a baseline measured in the same run, never asserted anywhere.

Papers: "PSConv: Squeezing Feature Pyramid into One Compact Poly-Scale Convolutional Layer" (ECCV 2020,
arXiv 2007.06191); "HBONet: Harmonious Bottleneck on Two Orthogonal Dimensions" (ICCV 2019, arXiv 1908.03888).

Operators at the ResNet-50 bottleneck 3x3 shapes (64@56, 128@28, 256@14, 512@7): ``conv`` (3x3, dilation 1, the
baseline), ``dilated`` (3x3, dilation 2), ``psconv`` (mmext's compact layout: effective weights only, the FLOPs of
``conv``) and ``psconv_release`` (the release's three convs with the dense masked one, 1.5x FLOPs). Per case: eval
forward and a train step (forward + backward + SGD step). Backbones: HBONet 1.0x vs MobileNetV2 1.0x (mmpretrain)
and PS-ResNet-50 vs ResNet-50, eval forward at batch 1, 224x224.

Robust to a loaded machine: the cases compared with each other are *interleaved*. One repetition times every case
of a group (``iters`` calls each, median kept) one after the other, the order rotated from repetition to
repetition; the ratio to the baseline is taken *within* each repetition (the two were timed seconds apart, under
nearly the same load) and the reported ratio is the median over ``repeats`` repetitions, with its range. Load that
changes between repetitions cancels; only load that changes within one repetition adds noise (seen in the range).

Example (the CPU numbers in configs/psconv/README.md and docs/benchmarks.md)::

    OMP_NUM_THREADS=1 python tools/analysis_tools/benchmark_psconv.py --batch-size 4 --repeats 7 --markdown
"""
import argparse
import json
import os
import statistics
import time
from typing import Callable, Dict, List, Sequence, Tuple

import torch
import torch.nn as nn

from mmext.backbones import HBONet, PSResNet
from mmext.ops import PSConv2d

__all__ = ['interleaved_times', 'ratio_summary', 'bench_ops', 'bench_backbones', 'to_markdown']

STAGES = ((64, 56), (128, 28), (256, 14), (512, 7))


def interleaved_times(cases: Dict[str, Callable[[], object]], repeats: int, iters: int,
                      warmup: int) -> Dict[str, List[float]]:
    """Per case, ``repeats`` medians (ms) of ``iters`` calls, the cases interleaved and their order rotated.

    Args:
        cases (dict): name -> zero-argument callable.
        repeats (int): Repetitions (>= 1); each times every case once.
        iters (int): Timed calls per case and repetition (>= 1); their median is kept.
        warmup (int): Untimed calls per case before the first repetition.

    Returns:
        dict: name -> list of ``repeats`` per-repetition medians in ms, in repetition order.
    """
    if repeats < 1 or iters < 1:
        raise ValueError(f'interleaved_times: repeats and iters must be >= 1, got {repeats} and {iters}')
    names = list(cases)
    for name in names:
        for _ in range(warmup):
            cases[name]()
    out: Dict[str, List[float]] = {n: [] for n in names}
    for r in range(repeats):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            times = []
            for _ in range(iters):
                start = time.perf_counter()
                cases[name]()
                times.append((time.perf_counter() - start) * 1000.0)
            out[name].append(statistics.median(times))
    return out


def ratio_summary(times: Dict[str, List[float]], name: str, base: str) -> Tuple[float, float, float]:
    """Median, min and max over repetitions of ``times[name][r] / times[base][r]`` (same-repetition ratios)."""
    ratios = [a / b for a, b in zip(times[name], times[base])]
    return statistics.median(ratios), min(ratios), max(ratios)


def _ops(c: int) -> Dict[str, nn.Module]:
    return {
        'conv': nn.Conv2d(c, c, 3, 1, 1, bias=False),
        'dilated': nn.Conv2d(c, c, 3, 1, 2, 2, bias=False),
        'psconv': PSConv2d(c, c, 3, 1, 1, dilation=2),
        'psconv_release': PSConv2d(c, c, 3, 1, 1, dilation=2, weight_layout='release'),
    }


def _forward(m: nn.Module, x: torch.Tensor) -> Callable[[], None]:
    def fwd() -> None:
        m.eval()
        with torch.no_grad():
            m(x)

    return fwd


def _train_step(m: nn.Module, x: torch.Tensor) -> Callable[[], None]:
    opt = torch.optim.SGD(m.parameters(), lr=1e-3, momentum=0.9)

    def step() -> None:
        m.train()
        opt.zero_grad(set_to_none=True)
        m(x).float().mean().backward()
        opt.step()

    return step


def _params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def bench_ops(batch: int, warmup: int, iters: int, repeats: int,
              stages: Sequence[Tuple[int, int]] = STAGES) -> List[dict]:
    """One row per (shape, op): per-repetition forward and train-step medians, interleaved within the shape."""
    rows = []
    for c, hw in stages:
        x = torch.randn(batch, c, hw, hw)
        ops = _ops(c)
        cases: Dict[str, Callable[[], None]] = {}
        for name, m in ops.items():
            cases[f'{name}/fwd'] = _forward(m, x)
            cases[f'{name}/train'] = _train_step(m, x)
        times = interleaved_times(cases, repeats, iters, warmup)
        for name, m in ops.items():
            rows.append(dict(kind='op', shape=f'{c}@{hw}', batch=batch, model=name, params=_params(m),
                             fwd_ms=times[f'{name}/fwd'], train_ms=times[f'{name}/train'],
                             base_fwd={b: times[f'{b}/fwd'] for b in ('conv', 'dilated')},
                             base_train={b: times[f'{b}/train'] for b in ('conv', 'dilated')}))
    return rows


#: backbone -> the baseline it is compared with
BACKBONE_BASE = {'MobileNetV2-1.0': 'MobileNetV2-1.0', 'HBONet-1.0': 'MobileNetV2-1.0', 'ResNet-50': 'ResNet-50',
                 'PS-ResNet-50': 'ResNet-50', 'PS-ResNet-50 (release layout)': 'ResNet-50'}


def bench_backbones(warmup: int, iters: int, repeats: int, size: int = 224) -> List[dict]:
    """Eval forward at batch 1 of the five backbones, all interleaved."""
    from mmpretrain.models import MobileNetV2, ResNet
    x = torch.randn(1, 3, size, size)
    models = {'MobileNetV2-1.0': MobileNetV2(widen_factor=1.0), 'HBONet-1.0': HBONet(1.0),
              'ResNet-50': ResNet(depth=50), 'PS-ResNet-50': PSResNet(depth=50),
              'PS-ResNet-50 (release layout)': PSResNet(depth=50, weight_layout='release')}
    times = interleaved_times({n: _forward(m, x) for n, m in models.items()}, repeats, iters, warmup)
    return [dict(kind='backbone', model=n, batch=1, size=size, params=_params(m), fwd_ms=times[n],
                 base=BACKBONE_BASE[n], base_fwd=times[BACKBONE_BASE[n]]) for n, m in models.items()]


def _ratio(times: List[float], base: List[float]) -> str:
    med, lo, hi = ratio_summary(dict(a=times, b=base), 'a', 'b')
    return f'{med:.2f} ({lo:.2f}-{hi:.2f})'


def to_markdown(rows: List[dict]) -> str:
    """Tables: medians over repetitions (ms) and the same-repetition ratios' median (min-max)."""
    med = statistics.median
    out = ['| shape | batch | op | params | fwd ms | fwd / conv | fwd / dilated | train ms | train / conv '
           '| train / dilated |', '|---|---|---|---|---|---|---|---|---|---|']
    for r in (r for r in rows if r['kind'] == 'op'):
        out.append(f"| {r['shape']} | {r['batch']} | {r['model']} | {r['params']:,} | {med(r['fwd_ms']):.2f} | "
                   f"{_ratio(r['fwd_ms'], r['base_fwd']['conv'])} | {_ratio(r['fwd_ms'], r['base_fwd']['dilated'])} "
                   f"| {med(r['train_ms']):.2f} | {_ratio(r['train_ms'], r['base_train']['conv'])} | "
                   f"{_ratio(r['train_ms'], r['base_train']['dilated'])} |")
    bbs = [r for r in rows if r['kind'] == 'backbone']
    if bbs:
        out += ['', f"| backbone ({bbs[0]['size']}x{bbs[0]['size']}, batch 1, eval) | params | median ms | "
                'ratio, median (min-max) | vs |', '|---|---|---|---|---|']
        for r in bbs:
            out.append(f"| {r['model']} | {r['params']:,} | {med(r['fwd_ms']):.1f} | "
                       f"{_ratio(r['fwd_ms'], r['base_fwd'])} | {r['base']} |")
    return '\n'.join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description='PSConv2d and HBONet speed against same-run, interleaved baselines')
    parser.add_argument('--batch-size', type=int, default=4)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--iters', type=int, default=3, help='timed calls per case and repetition (median kept)')
    parser.add_argument('--repeats', type=int, default=7, help='interleaved repetitions (ratios: median over them)')
    parser.add_argument('--backbone-iters', type=int, default=1)
    parser.add_argument('--backbone-repeats', type=int, default=9)
    parser.add_argument('--skip-ops', action='store_true')
    parser.add_argument('--skip-backbones', action='store_true')
    parser.add_argument('--markdown', action='store_true')
    args = parser.parse_args()
    torch.manual_seed(0)
    load0, cpu0, wall0 = os.getloadavg()[0], time.process_time(), time.perf_counter()
    rows = [] if args.skip_ops else bench_ops(args.batch_size, args.warmup, args.iters, args.repeats)
    if not args.skip_backbones:
        rows += bench_backbones(args.warmup, args.backbone_iters, args.backbone_repeats)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    print(json.dumps(rows))
    print(f'# torch {torch.__version__}, {torch.get_num_threads()} thread(s); load average {load0:.1f} at start, '
          f'{os.getloadavg()[0]:.1f} at end; process CPU {cpu:.0f} s in {wall:.0f} s wall ({100 * cpu / wall:.0f} %)')
    if args.markdown:
        print(to_markdown(rows))


if __name__ == '__main__':
    main()
