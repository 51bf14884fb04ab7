"""Speed and memory of the ODConv / KernelWarehouse classifiers against their static networks (and the releases).

Papers: "Omni-Dimensional Dynamic Convolution" (ICLR 2022, arXiv 2209.07947); "KernelWarehouse: Rethinking the
Design of Dynamic Convolution" (ICML 2024, arXiv 2406.07879).

Every model is a whole 1000-class classifier (backbone + global pooling + linear head) at 224x224, measured in one
run next to its static network (mmpretrain ResNet-50 / MobileNetV2, built the same way), per thread count:

* ``infer_ms``: eval forward at batch 1 (``--infer-batch-sizes``), under ``torch.no_grad``;
* ``train_ms``: forward + backward of the logits' mean at the train batch sizes (``--train-batch-sizes``);
* ``train_mem_mib``: peak memory of one train step (on a GPU the CUDA allocator's peak, on a CPU the peak RSS above
  the start of one extra untimed step, see :mod:`mmext.utils.benchmark`);
* ``ratios`` to the static network (``*_vs_static``) and, with ``--release-path``, to the authors' code
  (``*_vs_release``). A released model is built from the checkout, its state dict converted with
  ``tools/model_converters/{odconv,kw}2mmext.py`` and loaded into the mmext model, and the two classifiers' logits
  are compared (``release_check``: ``max_abs_diff`` and the logits' ``max_abs``) before either is timed.

``--clock cpu`` (one thread) times by the process's CPU time, which a shared machine's load inflates far less than the
wall clock. ``--profile`` prints torch.profiler per-op tables (self CPU time) of each model's inference and train step.
``--floor`` adds, per dynamic model, a lower bound on its batch-1 inference: the static network's measured time plus
the bytes its kernel assembly must read (a KernelWarehouse layer its whole warehouse, an ODConv layer its K
kernels) at the read bandwidth measured for each size (:mod:`mmext.utils.assembly_floor`).
``--ops`` adds the operator-level cases (one 3x3 layer at the ResNet-50 stage shapes: static conv, ODConv 4x,
KWConv 1x). The order of the models alternates over repeats (``--repeats``) so that load changes of a shared
machine spread over all of them.

Example (the table of docs/benchmarks.md is the one-thread, ``--clock cpu`` variant; this one takes about
5 minutes on an idle 2-core machine)::

    python tools/analysis_tools/benchmark_dynamic_conv.py --threads 1 2 --train-batch-sizes 8 \\
        --release-path ../ODConv ../KernelWarehouse --markdown
"""
import argparse
import importlib.util
import json
import os.path as osp
import statistics
import time
from typing import Callable, Dict, List, Optional

import torch
import torch.nn as nn

STATIC_OF = {
    'od_resnet50_1x': 'resnet50', 'od_resnet50_4x': 'resnet50', 'kw_resnet50_1x': 'resnet50',
    'od_mobilenetv2_1x': 'mobilenetv2', 'od_mobilenetv2_4x': 'mobilenetv2', 'kw_mobilenetv2_1x': 'mobilenetv2'
}
BACKBONES = {
    'resnet50': (dict(type='ResNet', depth=50), 2048),
    'od_resnet50_1x': (dict(type='ODResNet', depth=50, kernel_num=1), 2048),
    'od_resnet50_4x': (dict(type='ODResNet', depth=50, kernel_num=4), 2048),
    'kw_resnet50_1x': (dict(type='KWResNet', depth=50, cell_num_ratio=1), 2048),
    'mobilenetv2': (dict(type='MobileNetV2', widen_factor=1.0), 1280),
    'od_mobilenetv2_1x': (dict(type='ODMobileNetV2', kernel_num=1), 1280),
    'od_mobilenetv2_4x': (dict(type='ODMobileNetV2', kernel_num=4), 1280),
    'kw_mobilenetv2_1x': (dict(type='KWMobileNetV2', arch='1x'), 1280),
}
DEFAULT_MODELS = ['resnet50', 'od_resnet50_1x', 'od_resnet50_4x', 'kw_resnet50_1x', 'mobilenetv2',
                  'od_mobilenetv2_1x', 'kw_mobilenetv2_1x']
REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def build_classifier(name: str) -> nn.Module:
    """mmpretrain ``ImageClassifier`` (backbone + GAP + linear head, 1000 classes) of a benchmark name."""
    import mmext  # noqa: F401  (registers the backbones)
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS
    init_default_scope('mmpretrain')
    backbone, channels = BACKBONES[name]
    return MODELS.build(dict(type='ImageClassifier', backbone=backbone, neck=dict(type='GlobalAveragePooling'),
                             head=dict(type='LinearClsHead', num_classes=1000, in_channels=channels)))


def _converter(kind: str):
    tool = 'odconv2mmext' if kind == 'odconv' else 'kw2mmext'
    spec = importlib.util.spec_from_file_location(tool, osp.join(REPO, 'tools', 'model_converters', f'{tool}.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.convert


def logits_fn(model: nn.Module, released: bool) -> Callable[[torch.Tensor], torch.Tensor]:
    if released:
        return model
    return lambda x: model(x, mode='tensor')


def load_releases(paths: List[str], names: List[str], device: str) -> Dict[str, Dict]:
    """``{name: dict(model=released, state=converted state dict)}`` for the benchmarked names found in ``paths``."""
    out: Dict[str, Dict] = {}
    if not paths:
        return out
    from mmext.utils.release_import import detect_release, release_builders
    for path in paths:
        kind = detect_release(path)
        convert = _converter(kind)
        for name, build in release_builders(path).items():
            if name not in names:
                continue
            torch.manual_seed(0)
            released = build().to(device).eval()
            out[name] = dict(model=released, state=convert({'state_dict': released.state_dict()}))
    return out


def _cpu_measure(fn: Callable[[], object], warmup: int, iters: int) -> Dict[str, object]:
    """Like :func:`mmext.utils.benchmark.measure`, timed by the process's CPU time instead of the wall clock."""
    from mmext.utils.benchmark import rss_peak_during_mib
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iters):
        start = time.process_time()
        fn()
        times.append((time.process_time() - start) * 1000.0)
    return dict(median_ms=statistics.median(times), peak_mem_mib=rss_peak_during_mib(fn))


def _time(fn: Callable[[], object], args, no_grad: bool) -> Dict[str, object]:
    from mmext.utils.benchmark import measure
    with torch.set_grad_enabled(not no_grad):
        if args.clock == 'cpu':
            return _cpu_measure(fn, args.warmup, args.iters)
        return measure(fn, args.warmup, args.iters, args.device)


def bench_model(model: nn.Module, released: bool, args, batch_infer: int, batch_train: Optional[int]) -> Dict:
    fwd = logits_fn(model, released)
    row = {}
    model.eval()
    x = torch.randn(batch_infer, 3, args.size, args.size, device=args.device)
    row['infer_ms'] = _time(lambda: fwd(x), args, True)['median_ms']
    if batch_train:
        model.train()
        xt = torch.randn(batch_train, 3, args.size, args.size, device=args.device)

        def step():
            model.zero_grad(set_to_none=True)
            fwd(xt).float().mean().backward()

        r = _time(step, args, False)
        row.update(train_ms=r['median_ms'], train_mem_mib=r['peak_mem_mib'])
        model.zero_grad(set_to_none=True)
        model.eval()
    return row


def profile_model(model: nn.Module, released: bool, args, title: str) -> None:
    from torch.profiler import ProfilerActivity, profile
    fwd = logits_fn(model, released)
    model.eval()
    x = torch.randn(1, 3, args.size, args.size, device=args.device)
    xt = torch.randn((args.train_batch_sizes or [1])[0], 3, args.size, args.size, device=args.device)
    with torch.no_grad():
        fwd(x)
        with profile(activities=[ProfilerActivity.CPU]) as p:
            fwd(x)
    print(f'## profile: {title}, inference batch 1\n' +
          p.key_averages().table(sort_by='self_cpu_time_total', row_limit=args.profile_rows), flush=True)
    if not args.train_batch_sizes:
        return
    model.train()
    with profile(activities=[ProfilerActivity.CPU]) as p:
        fwd(xt).float().mean().backward()
    print(f'## profile: {title}, train step batch {xt.shape[0]}\n' +
          p.key_averages().table(sort_by='self_cpu_time_total', row_limit=args.profile_rows), flush=True)
    model.zero_grad(set_to_none=True)
    model.eval()


def bench_models(args) -> List[Dict]:
    names = list(dict.fromkeys(args.models + [STATIC_OF[n] for n in args.models if n in STATIC_OF]))
    models = {}
    for name in names:
        torch.manual_seed(0)
        models[name] = (build_classifier(name).to(args.device).eval(), False)
    for name, rel in load_releases(args.release_path, names, args.device).items():
        ours = models[name][0]
        ours.load_state_dict(rel['state'], strict=True)
        x = torch.randn(2, 3, args.size, args.size, device=args.device)
        with torch.no_grad():
            ref = rel['model'](x)
            diff = (ours(x, mode='tensor') - ref).abs().max().item()
        print(json.dumps(dict(kind='release_check', name=name, max_abs_diff=diff, max_abs=ref.abs().max().item())),
              flush=True)
        models[f'{name}@release'] = (rel['model'], True)
    rows = []
    for threads in args.threads:
        torch.set_num_threads(threads)
        results: Dict = {}
        order = list(models)
        for rep in range(args.repeats):
            for name in (order if rep % 2 == 0 else order[::-1]):
                model, released = models[name]
                for bi in args.infer_batch_sizes:
                    for bt in args.train_batch_sizes or [None]:
                        key = (name, bi, bt)
                        r = bench_model(model, released, args, bi, bt)
                        prev = results.get(key)
                        results[key] = r if prev is None else {k: min(v, prev[k]) for k, v in r.items()}
        for (name, bi, bt), r in results.items():
            row = dict(kind='model', name=name, threads=threads, infer_batch=bi, train_batch=bt, **r)
            base = results.get((STATIC_OF.get(name.split('@')[0], name), bi, bt))
            ours = results.get((name.split('@')[0], bi, bt))
            for k in ('infer_ms', 'train_ms', 'train_mem_mib'):
                if k in r and base and base.get(k):
                    row[f'{k}_vs_static'] = r[k] / base[k]
                if '@' not in name and k in r and results.get((name + '@release', bi, bt), {}).get(k):
                    row[f'{k}_vs_release'] = r[k] / results[(name + '@release', bi, bt)][k]
            if args.floor and name in STATIC_OF and base and bi == 1:
                row.update(_floor(models[name][0], args, base['infer_ms']))
            rows.append(row)
            print(json.dumps(row), flush=True)
    if args.profile:
        torch.set_num_threads(args.threads[0])
        for name, (model, released) in models.items():
            profile_model(model, released, args, name)
    return rows


def _floor(model: nn.Module, args, static_infer_ms: float) -> Dict[str, float]:
    """The batch-1 inference floor (:mod:`mmext.utils.assembly_floor`) as row fields."""
    from mmext.utils.assembly_floor import assembly_floor_ms
    model.eval()
    x = torch.randn(1, 3, args.size, args.size, device=args.device)
    fwd = logits_fn(model, False)
    r = assembly_floor_ms(model, lambda: fwd(x), args.device)
    return dict(floor_read_mb=r['read_mb'], floor_extra_ms=r['floor_ms'], floor_gbps=r['median_gbps'],
                infer_floor_vs_static=(static_infer_ms + r['floor_ms']) / static_infer_ms,
                stream_gbps=r['stream_gbps'], stream_floor_extra_ms=r['stream_floor_ms'],
                infer_stream_floor_vs_static=(static_infer_ms + r['stream_floor_ms']) / static_infer_ms)


def bench_ops(args) -> List[Dict]:
    """One 3x3 layer at each ResNet-50 stage shape: static conv, ODConv 4x, KWConv 1x (own 1x warehouse)."""
    from mmext.ops import ODConv2d, WarehouseManager

    class _KW(nn.Module):

        def __init__(self, c: int) -> None:
            super().__init__()
            self.warehouse_manager = WarehouseManager(cell_num_ratio=1)
            self.conv = self.warehouse_manager.reserve(c, c, 3, 1, 1, bias=False, warehouse_name='s0_l0_c0')
            self.warehouse_manager.store()
            self.warehouse_manager.allocate(self)

        def forward(self, x):
            return self.conv(x)

    rows = []
    torch.set_num_threads(args.threads[0])
    for b in args.ops_batch_sizes:
        for c, hw in ((64, 56), (128, 28), (256, 14), (512, 7)):
            x = torch.randn(b, c, hw, hw, device=args.device)
            cases = {'static': nn.Conv2d(c, c, 3, 1, 1, bias=False), 'odconv4x': ODConv2d(c, c, 3, 1, 1),
                     'kwconv1x': _KW(c)}
            for name, mod in cases.items():
                mod = mod.to(args.device).eval()
                r = dict(infer_ms=_time(lambda: mod(x), args, True)['median_ms'])
                mod.train()

                def step():
                    mod.zero_grad(set_to_none=True)
                    mod(x).mean().backward()

                t = _time(step, args, False)
                r.update(train_ms=t['median_ms'], train_mem_mib=t['peak_mem_mib'])
                rows.append(dict(kind='op', name=name, batch=b, shape=f'{c}x{hw}x{hw}', **r))
                print(json.dumps(rows[-1]), flush=True)
    return rows


def markdown(rows: List[Dict]) -> str:
    lines = ['| model | threads | train batch | infer ms (bs1) | train ms | train peak MiB | infer / static | '
             'train / static | mem / static | infer / release | train / release |',
             '|---|---|---|---|---|---|---|---|---|---|---|']

    def f(r, k, fmt='{:.2f}'):
        return fmt.format(r[k]) if r.get(k) is not None else '-'

    for r in rows:
        if r['kind'] != 'model':
            continue
        lines.append(f"| {r['name']} | {r['threads']} | {r['train_batch'] or '-'} | {f(r, 'infer_ms', '{:.1f}')} | "
                     f"{f(r, 'train_ms', '{:.0f}')} | {f(r, 'train_mem_mib', '{:.0f}')} | "
                     f"{f(r, 'infer_ms_vs_static')} | {f(r, 'train_ms_vs_static')} | "
                     f"{f(r, 'train_mem_mib_vs_static')} | {f(r, 'infer_ms_vs_release')} | "
                     f"{f(r, 'train_ms_vs_release')} |")
    floors = [r for r in rows if r.get('infer_floor_vs_static') is not None]
    if floors:
        lines += ['', '| model | threads | assembly reads MB (bs1) | warm GB/s (median) | warm floor extra ms | '
                  'stream GB/s | stream floor extra ms | infer floor / static (warm, stream) | infer / static |',
                  '|---|---|---|---|---|---|---|---|---|']
        for r in floors:
            lines.append(f"| {r['name']} | {r['threads']} | {f(r, 'floor_read_mb', '{:.0f}')} | "
                         f"{f(r, 'floor_gbps', '{:.1f}')} | {f(r, 'floor_extra_ms', '{:.1f}')} | "
                         f"{f(r, 'stream_gbps', '{:.1f}')} | {f(r, 'stream_floor_extra_ms', '{:.1f}')} | "
                         f"{f(r, 'infer_floor_vs_static')}, {f(r, 'infer_stream_floor_vs_static')} | "
                         f"{f(r, 'infer_ms_vs_static')} |")
    return '\n'.join(lines)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--models', nargs='+', default=DEFAULT_MODELS, choices=sorted(BACKBONES))
    parser.add_argument('--threads', type=int, nargs='+', default=[1, 2], help='torch.set_num_threads values')
    parser.add_argument('--infer-batch-sizes', type=int, nargs='+', default=[1])
    parser.add_argument('--train-batch-sizes', type=int, nargs='*', default=[8],
                        help='train-step batch sizes (none: inference only); the issue asks for 8 and 32')
    parser.add_argument('--size', type=int, default=224)
    parser.add_argument('--iters', type=int, default=1, help='timed calls per case (median)')
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--repeats', type=int, default=1, help='passes over the models (min over passes)')
    parser.add_argument('--clock', choices=['wall', 'cpu'], default='wall',
                        help="'cpu': time by the process's CPU time (robust on a loaded machine; 1 thread only)")
    parser.add_argument('--release-path', nargs='*', default=[],
                        help='checkouts of OSVAI/ODConv and/or OSVAI/KernelWarehouse to time beside mmext')
    parser.add_argument('--profile', action='store_true', help='print torch.profiler per-op tables')
    parser.add_argument('--profile-rows', type=int, default=15)
    parser.add_argument('--floor', action='store_true',
                        help='also compute the batch-1 inference floor: static time + the kernel assembly\'s '
                        'weight reads at the measured read bandwidth (mmext.utils.assembly_floor)')
    parser.add_argument('--ops', action='store_true', help='also time single layers at the ResNet-50 shapes')
    parser.add_argument('--ops-batch-sizes', type=int, nargs='+', default=[1, 8])
    parser.add_argument('--markdown', action='store_true', help='print a markdown table at the end')
    parser.add_argument('--out', help='write the rows as JSON here')
    args = parser.parse_args(argv)
    for t in args.threads:
        if t < 1:
            raise ValueError(f'--threads: each value must be >= 1, got {t}')
    if args.clock == 'cpu' and (args.threads != [1] or args.device != 'cpu'):
        raise ValueError(f"--clock cpu needs --threads 1 and --device cpu (CPU time sums the threads), got "
                         f"--threads {args.threads} --device {args.device}")
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    torch.manual_seed(0)
    rows = bench_models(args) + (bench_ops(args) if args.ops else [])
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(rows, f, indent=1)
    if args.markdown:
        print(markdown(rows))


if __name__ == '__main__':
    main()
