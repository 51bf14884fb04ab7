"""Speed / memory of ODConv2d, KWConv2d and the OD/KW backbones against static convs and naive formulations.

Papers: "Omni-Dimensional Dynamic Convolution" (ICLR 2022, arXiv 2209.07947); "KernelWarehouse: Rethinking the
Design of Dynamic Convolution" (ICML 2024, arXiv 2406.07879).

Operators are measured at the ResNet-50 bottleneck 3x3 shapes (64@56, 128@28, 256@14, 512@7), each against, in
the same run and on the same input:

* ``static``: ``nn.Conv2d`` with the same shape;
* ``naive``: for ODConv the released formulation (``sum(a_s * a_w * W)`` over a ``[B, K, out, in, k, k]``
  temporary, then the batch-folded grouped conv); for KernelWarehouse a per-sample loop (assemble one kernel,
  ``F.conv2d``, repeat), the plain reading of the operator.

Reported per case: eval forward time, train step (forward + backward) time, and training memory as the bytes the
autograd graph saves for backward in one step (``saved_mib``, deterministic, device independent; the dominant
term of training memory), the largest single tensor created in a train step (``largest_mib``: transient
temporaries such as the released ODConv's ``[B, K, out, in, k, k]``), plus the CUDA allocator peak on a GPU (``train_mem_mib``; on a CPU the growth of the
process's peak RSS, coarse and often 0).
Backbones (ResNet-50 static vs OD-R50 1x/4x, KW-R50 1x) are measured at 224x224. Output: a JSON list and,
with ``--markdown``, a table of ratios to append to docs/benchmarks.md.

Example (the CPU numbers in docs/benchmarks.md)::

    python tools/analysis_tools/benchmark_dynamic_conv.py --batch-sizes 1 32 --iters 3 --warmup 1 \
        --backbone-batch-sizes 1 8 --backbone-iters 2 --markdown
"""
import argparse
import json
from typing import Callable, Dict, List

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode

from mmext.backbones import KWResNet, ODResNet
from mmext.ops import ODConv2d, WarehouseManager
from mmext.utils.benchmark import measure

STAGES = ((64, 56), (128, 28), (256, 14), (512, 7))


def naive_odconv(conv: ODConv2d, x: torch.Tensor) -> torch.Tensor:
    """The released ODConv forward: the aggregated kernel goes through a [B, K, out, in, k, k] temporary."""
    ca, fa, sa, ka = conv.attention(x)
    b = x.shape[0]
    x = (x * ca).reshape(1, -1, *x.shape[2:])
    sa = sa.reshape(b, 1, 1, 1, conv.kernel_size, conv.kernel_size)
    agg = torch.sum(sa * ka.reshape(b, -1, 1, 1, 1, 1) * conv.weight.unsqueeze(0), dim=1)  # [B, K, ...] first
    out = F.conv2d(x, agg.reshape(-1, *agg.shape[2:]), None, conv.stride, conv.padding, conv.dilation,
                   conv.groups * b)
    out = out.reshape(b, conv.out_channels, *out.shape[2:])
    return out if fa is None else out * fa


def naive_kwconv(conv: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Per-sample loop: assemble one sample's kernel, convolve, repeat."""
    outs = []
    for i in range(x.shape[0]):
        xi = x[i:i + 1]
        w = conv.dynamic_weight(xi.mean(dim=(2, 3)))[0]
        outs.append(F.conv2d(xi, w, conv.bias, conv.stride, conv.padding, conv.dilation, conv.groups))
    return torch.cat(outs)


class _KWHolder(nn.Module):
    """One KWConv2d with its own 1x warehouse (as if it were the only layer of its stage)."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.warehouse_manager = WarehouseManager(cell_num_ratio=1)
        self.conv = self.warehouse_manager.reserve(c, c, 3, 1, 1, bias=False, warehouse_name='stage0_layer0_conv0')
        self.warehouse_manager.store()
        self.warehouse_manager.allocate(self)


def _time(fn: Callable[[], object], warmup: int, iters: int, device: str, train: bool) -> Dict[str, float]:
    if train:
        return measure(fn, warmup, iters, device)
    with torch.no_grad():
        return measure(fn, warmup, iters, device)


def saved_for_backward_mib(fn: Callable[[], torch.Tensor]) -> float:
    """MiB of the distinct tensors autograd saves for backward while ``fn`` runs."""
    seen: Dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        seen[id(t.untyped_storage()) if t.device.type != 'meta' else id(t)] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn()
    del out
    return sum(seen.values()) / 2**20


class _LargestTensor(TorchDispatchMode):
    """Records the largest tensor any op produces (transient temporaries included)."""

    def __init__(self) -> None:
        super().__init__()
        self.largest = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in (out if isinstance(out, (tuple, list)) else [out]):
            if isinstance(t, torch.Tensor):
                self.largest = max(self.largest, t.numel() * t.element_size())
        return out


def largest_tensor_mib(fn: Callable[[], torch.Tensor]) -> float:
    """MiB of the largest tensor created by one forward + backward of ``fn``."""
    rec = _LargestTensor()
    with rec:
        out = fn()
        out = out[-1] if isinstance(out, (tuple, list)) else out
        out.float().mean().backward()
    return rec.largest / 2**20


def _case(module: nn.Module, fwd: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, args) -> Dict:
    module.eval()
    ev = _time(lambda: fwd(x), args.warmup, args.iters, args.device, False)
    module.train()

    def step():
        module.zero_grad(set_to_none=True)
        out = fwd(x)
        out = out[-1] if isinstance(out, (tuple, list)) else out
        out.float().mean().backward()

    tr = _time(step, args.warmup, args.iters, args.device, True)
    saved = saved_for_backward_mib(lambda: fwd(x))
    largest = largest_tensor_mib(lambda: fwd(x))
    module.zero_grad(set_to_none=True)
    return dict(forward_ms=ev['median_ms'], train_ms=tr['median_ms'], saved_mib=saved, largest_mib=largest,
                train_mem_mib=tr['peak_mem_mib'])


def bench_ops(args) -> List[Dict]:
    rows = []
    for b in args.batch_sizes:
        for c, hw in STAGES:
            x = torch.randn(b, c, hw, hw, device=args.device)
            static = nn.Conv2d(c, c, 3, 1, 1, bias=False).to(args.device)
            od = ODConv2d(c, c, 3, 1, 1, kernel_num=4).to(args.device)
            kw = _KWHolder(c).to(args.device)
            cases = {
                'static': (static, static),
                'odconv4x': (od, od),
                'odconv4x_naive': (od, lambda t: naive_odconv(od, t)),
                'kwconv1x': (kw, kw.conv),
                'kwconv1x_naive': (kw, lambda t: naive_kwconv(kw.conv, t)),
            }
            for name, (module, fwd) in cases.items():
                r = _case(module, fwd, x, args)
                rows.append(dict(kind='op', name=name, batch=b, shape=f'{c}x{hw}x{hw}', **r))
                print(json.dumps(rows[-1]), flush=True)
    return rows


def bench_backbones(args) -> List[Dict]:
    from mmpretrain.models.backbones import ResNet
    builders = {
        'resnet50': lambda: ResNet(depth=50, out_indices=(3, )),
        'od_resnet50_1x': lambda: ODResNet(50, kernel_num=1),
        'od_resnet50_4x': lambda: ODResNet(50, kernel_num=4),
        'kw_resnet50_1x': lambda: KWResNet(50, cell_num_ratio=1),
    }
    rows = []
    for name in args.backbones:
        model = builders[name]().to(args.device)
        for b in args.backbone_batch_sizes:
            x = torch.randn(b, 3, args.size, args.size, device=args.device)
            sub = argparse.Namespace(**{**vars(args), 'iters': args.backbone_iters, 'warmup': 1})
            r = _case(model, model, x, sub)
            rows.append(dict(kind='backbone', name=name, batch=b, shape=f'3x{args.size}x{args.size}', **r))
            print(json.dumps(rows[-1]), flush=True)
        del model
    return rows


def markdown(rows: List[Dict]) -> str:
    lines = ['| case | batch | shape | fwd ms | train ms | saved MiB | fwd / base | train / base | train / naive | '
             'saved / naive |', '|---|---|---|---|---|---|---|---|---|---|']
    index = {(r['kind'], r['name'], r['batch'], r['shape']): r for r in rows}
    for r in rows:
        base = index.get((r['kind'], 'static' if r['kind'] == 'op' else 'resnet50', r['batch'], r['shape']))
        naive = index.get((r['kind'], r['name'] + '_naive', r['batch'], r['shape']))
        if r['name'].endswith('_naive'):
            naive = None
        fr = f"{r['forward_ms'] / base['forward_ms']:.2f}" if base else '-'
        tr = f"{r['train_ms'] / base['train_ms']:.2f}" if base else '-'
        nv = f"{r['train_ms'] / naive['train_ms']:.2f}" if naive else '-'
        nm = f"{r['saved_mib'] / naive['saved_mib']:.2f}" if naive and naive['saved_mib'] else '-'
        lines.append(f"| {r['name']} | {r['batch']} | {r['shape']} | {r['forward_ms']:.1f} | {r['train_ms']:.1f} | "
                     f"{r['saved_mib']:.1f} | {fr} | {tr} | {nv} | {nm} |")
    return '\n'.join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--batch-sizes', type=int, nargs='+', default=[1, 32])
    parser.add_argument('--iters', type=int, default=10)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--backbones', nargs='*',
                        default=['resnet50', 'od_resnet50_1x', 'od_resnet50_4x', 'kw_resnet50_1x'])
    parser.add_argument('--backbone-batch-sizes', type=int, nargs='+', default=[1, 32])
    parser.add_argument('--backbone-iters', type=int, default=5)
    parser.add_argument('--size', type=int, default=224)
    parser.add_argument('--skip-ops', action='store_true')
    parser.add_argument('--markdown', action='store_true', help='print a markdown table of ratios at the end')
    parser.add_argument('--out', help='write the rows as JSON here')
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    rows = ([] if args.skip_ops else bench_ops(args)) + bench_backbones(args)
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(rows, f, indent=1)
    if args.markdown:
        print(markdown(rows))


if __name__ == '__main__':
    main()
