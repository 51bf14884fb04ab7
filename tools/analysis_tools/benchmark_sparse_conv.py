"""Time mmext's sparse-conv backend against a dense Conv3d on random sparse grids, and SGC against plain
submanifold convs (single layers and the whole ESSCNet). Prints JSON; ratios are within this one run.

    python tools/analysis_tools/benchmark_sparse_conv.py                     # CPU, 64^3, 32 -> 32 channels
    python tools/analysis_tools/benchmark_sparse_conv.py --device cuda --backend mmcv
    python tools/analysis_tools/benchmark_sparse_conv.py --esscnet-data data/shapes3d/  # + whole-network SGC timing

``subm`` / ``sgc4`` include the rulebook build in every call (as a fresh forward pass does); ``*_cached`` reuse
it (as every later layer sharing an ``indice_key`` does). The dense reference is ``F.conv3d`` over the whole grid.
Layer variants are timed interleaved (one call of each per round), so load changes hit them alike.
"""
import argparse
import json
import statistics
import sys
import time
from typing import Callable, Dict

import torch
import torch.nn.functional as F

from mmext.ops.sparse import SGCSubMConv3d, SparseTensor, SpSubMConv3d
from mmext.utils.benchmark import measure


def random_sparse(size: int, channels: int, occupancy: float, device: str, seed: int = 0) -> SparseTensor:
    g = torch.Generator().manual_seed(seed)
    mask = torch.rand(1, size, size, size, generator=g) < occupancy
    idx = mask.nonzero().int()
    return SparseTensor(torch.randn(idx.shape[0], channels, generator=g).to(device), idx.to(device),
                        [size] * 3, 1)


def interleaved(fns: Dict[str, Callable[[], object]], warmup: int, rounds: int, device: str) -> Dict[str, Dict]:
    """Time every variant once per round, round after round, so a load change on a shared machine hits all of
    them alike; per variant the median and minimum over the rounds, and the median of the per-round ratios to the
    first variant (the baseline)."""
    cuda = device.startswith('cuda')
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times = {k: [] for k in fns}
    for _ in range(rounds):
        for k, fn in fns.items():
            if cuda:
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            fn()
            if cuda:
                torch.cuda.synchronize()
            times[k].append((time.perf_counter() - t0) * 1e3)
    base = next(iter(times.values()))
    return {k: dict(median_ms=statistics.median(v), min_ms=min(v),
                    speedup_median_of_rounds=statistics.median(b / t for b, t in zip(base, v)))
            for k, v in times.items()}


def bench_occupancy(args) -> Dict:
    out = {}
    for occ in args.occupancy:
        x = random_sparse(args.size, args.channels, occ, args.device)
        conv = SpSubMConv3d(args.channels, args.channels, 3, backend=args.backend).to(args.device)
        sgc = SGCSubMConv3d(args.channels, args.channels, 3, backend=args.backend).to(args.device)
        cached = SpSubMConv3d(args.channels, args.channels, 3, indice_key='k', backend=args.backend).to(args.device)
        sgc_cached = SGCSubMConv3d(args.channels, args.channels, 3, indice_key='k',
                                   backend=args.backend).to(args.device)
        dense_in = x.dense()
        w = conv.weight.detach().permute(4, 3, 0, 1, 2).contiguous()

        def fresh() -> SparseTensor:  # a new tensor: no cached rulebook
            return SparseTensor(x.features, x.indices, x.spatial_shape, 1)
        with torch.no_grad():
            cached(x)  # fills the rulebook cache of x
            sgc_cached(x)
            res = interleaved(dict(
                dense_conv3d=lambda: F.conv3d(dense_in, w, conv.bias, padding=1),
                subm=lambda: conv(fresh()),
                subm_cached=lambda: cached(x),
                sgc4=lambda: sgc(fresh()),
                sgc4_cached=lambda: sgc_cached(x)), args.warmup, args.iters, args.device)
        dense_ms = res['dense_conv3d']['median_ms']
        out[f'{occ:.0%}'] = dict(
            active_sites=int(x.indices.shape[0]),
            median_ms={k: round(v['median_ms'], 2) for k, v in res.items()},
            min_ms={k: round(v['min_ms'], 2) for k, v in res.items()},
            speedup_vs_dense={k: round(dense_ms / v['median_ms'], 2) for k, v in res.items()},
            speedup_vs_dense_median_of_rounds={k: round(v['speedup_median_of_rounds'], 2) for k, v in res.items()},
            gflops=dict(dense=round(2 * 27 * args.size ** 3 * args.channels ** 2 / 1e9, 3),
                        subm=round(conv.last_flops / 1e9, 3), sgc4=round(sgc.last_flops / 1e9, 3)))
    return out


def bench_esscnet(args) -> Dict:
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import init_default_scope
    from mmseg.registry import DATASETS, MODELS

    import mmext  # noqa: F401
    from mmext.ops.sparse import SpConvBase
    init_default_scope('mmseg')
    ds = DATASETS.build(dict(type='Shapes3DSSCDataset', data_root=args.esscnet_data, auto_generate=False,
                             data_prefix=dict(scenes='scenes/val'), test_mode=True))
    batch = pseudo_collate([ds[i] for i in range(args.esscnet_batch)])
    out = {}
    for name, groups in (('plain', 1), ('sgc4', 4)):
        torch.manual_seed(0)
        model = MODELS.build(dict(type='ESSCNet', num_levels=4, sgc_groups=groups, backend=args.backend))
        model = model.to(args.device).eval()
        data = model.data_preprocessor(batch, False)
        with torch.no_grad():
            t = measure(lambda: model(**data, mode='tensor'), 1, args.esscnet_iters, args.device)
        flops = sum(m.last_flops for m in model.modules() if isinstance(m, SpConvBase))
        model.train()

        def step():
            losses = model(**model.data_preprocessor(batch, True), mode='loss')
            sum(losses.values()).backward()
        ts = measure(step, 1, args.esscnet_iters, args.device)
        out[name] = dict(inference_ms=round(t['median_ms'], 1), train_step_ms=round(ts['median_ms'], 1),
                         conv_gflops=round(flops / 1e9, 3))
    out['sgc4_vs_plain'] = {k: round(out['sgc4'][k] / out['plain'][k], 3)
                            for k in ('inference_ms', 'train_step_ms', 'conv_gflops')}
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--device', default='cpu')
    p.add_argument('--backend', default='auto', choices=['auto', 'torch', 'mmcv'])
    p.add_argument('--size', type=int, default=64)
    p.add_argument('--channels', type=int, default=32)
    p.add_argument('--occupancy', type=float, nargs='+', default=[0.01, 0.05, 0.10, 0.30])
    p.add_argument('--warmup', type=int, default=1)
    p.add_argument('--iters', type=int, default=5, help='rounds of the interleaved layer timing')
    p.add_argument('--esscnet-data', help='a generated Shapes-3D root (scenes/val) to time the whole network')
    p.add_argument('--esscnet-batch', type=int, default=2)
    p.add_argument('--esscnet-iters', type=int, default=3)
    args = p.parse_args()
    result = dict(device=args.device, backend=args.backend, torch_threads=torch.get_num_threads(),
                  grid=[args.size] * 3, channels=args.channels, layer=bench_occupancy(args))
    if args.esscnet_data:
        result['esscnet'] = bench_esscnet(args)
    json.dump(result, sys.stdout, indent=1)
    print()


if __name__ == '__main__':
    main()
