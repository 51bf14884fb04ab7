"""A lower bound on the batch-1 inference time of a dynamic-convolution network: the kernel assembly's reads.

ODConv ("Omni-Dimensional Dynamic Convolution", ICLR 2022, arXiv 2209.07947) and KernelWarehouse
("KernelWarehouse: Rethinking the Design of Dynamic Convolution", ICML 2024, arXiv 2406.07879) build a new kernel
per sample. Whatever the formulation, the assembly has to read every weight its kernel mixes:

* a KernelWarehouse layer mixes **all** ``n`` cells of its warehouse (the attention is dense over them), so it
  reads the whole warehouse, which the layers of a stage share: a stage of ``L`` layers reads its warehouse
  ``L`` times per image, where the static network reads each kernel once;
* an ODConv layer with ``K > 1`` kernels reads all ``K`` of them (``K = 1`` only rescales the kernel the static
  convolution reads anyway, so nothing is counted for it).

Everything else the static network does is also done by the dynamic one (the convolutions at the same shapes),
so ``static time + sum(bytes read) / bandwidth`` bounds the dynamic network's batch-1 inference from below: the
attention, the gating and every other cost come on top. The bandwidth is measured here, per distinct read size,
as the best of repeated ``sum`` passes over a buffer of that size (warm: a buffer that fits the cache is read
from the cache), i.e. the most favourable case.
"""
import statistics
import time
from typing import Callable, Dict, List

import torch
import torch.nn as nn

__all__ = ['assembly_reads', 'read_bandwidth_gbps', 'assembly_floor_ms']


def assembly_reads(model: nn.Module, forward: Callable[[], object]) -> List[int]:
    """Bytes each dynamic layer's kernel assembly must read, one entry per layer call of ``forward()``."""
    from mmext.ops import ODConv2d
    from mmext.ops.kernel_warehouse import KWLayerBase
    reads: List[int] = []

    def hook(module, _args) -> None:
        if isinstance(module, KWLayerBase):
            cells = module.cells()
            reads.append(cells.numel() * cells.element_size())
        elif module.kernel_num > 1:
            reads.append(module.weight.numel() * module.weight.element_size())

    handles = [m.register_forward_pre_hook(hook) for m in model.modules()
               if isinstance(m, (KWLayerBase, ODConv2d))]
    try:
        with torch.no_grad():
            forward()
    finally:
        for h in handles:
            h.remove()
    return reads


def read_bandwidth_gbps(nbytes: int, repeats: int = 7, device: str = 'cpu') -> float:
    """Best read bandwidth (GB/s) of repeated ``sum`` passes over a float32 buffer of ``nbytes`` bytes."""
    buf = torch.ones(max(nbytes // 4, 1), device=device)
    best = float('inf')
    for _ in range(repeats + 1):
        if device != 'cpu':
            torch.cuda.synchronize()
        start = time.perf_counter()
        buf.sum()
        if device != 'cpu':
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return buf.numel() * 4 / best / 1e9


def assembly_floor_ms(model: nn.Module, forward: Callable[[], object], device: str = 'cpu') -> Dict[str, float]:
    """``dict(read_mb, floor_ms, layers)``: the assembly's reads and their time at the measured bandwidth."""
    reads = assembly_reads(model, forward)
    bandwidth = {n: read_bandwidth_gbps(n, device=device) for n in sorted(set(reads))}
    floor_ms = sum(n / (bandwidth[n] * 1e9) for n in reads) * 1e3
    gbps = statistics.median(bandwidth.values()) if bandwidth else float('nan')
    return dict(read_mb=sum(reads) / 1e6, floor_ms=floor_ms, layers=len(reads), median_gbps=gbps)
