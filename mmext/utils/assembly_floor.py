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
attention, the gating and every other cost come on top. Two bandwidths are measured here:

* ``warm``, per distinct read size, the best of repeated ``sum`` passes over a buffer of that size (a buffer that
  fits the cache is read from the cache): the most favourable case, a true lower bound;
* ``stream``, the best pass over a buffer of :data:`STREAM_BYTES` (larger than the caches): the rate at which
  weights that are not in a cache arrive. ODConv reads each kernel once per image, so its reads are of this kind
  when the network's weights exceed the cache; a KernelWarehouse stage re-reads one warehouse, which may stay
  cached between its layers.
"""
import statistics
import time
from typing import Callable, Dict, List

import torch
import torch.nn as nn

__all__ = ['STREAM_BYTES', 'assembly_reads', 'read_bandwidth_gbps', 'assembly_floor_ms']

#: Size of the buffer whose read gives the ``stream`` bandwidth (512 MiB).
STREAM_BYTES = 512 * 2**20


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


def assembly_floor_ms(model: nn.Module, forward: Callable[[], object], device: str = 'cpu',
                      stream_bytes: int = STREAM_BYTES) -> Dict[str, float]:
    """The assembly's reads and their time at the measured bandwidths.

    Returns:
        dict: ``read_mb`` (all layers), ``layers``, ``floor_ms`` / ``median_gbps`` (warm bandwidth per read
        size), ``stream_floor_ms`` / ``stream_gbps`` (the bandwidth of one ``stream_bytes`` buffer).
    """
    reads = assembly_reads(model, forward)
    bandwidth = {n: read_bandwidth_gbps(n, device=device) for n in sorted(set(reads))}
    floor_ms = sum(n / (bandwidth[n] * 1e9) for n in reads) * 1e3
    gbps = statistics.median(bandwidth.values()) if bandwidth else float('nan')
    stream = read_bandwidth_gbps(stream_bytes, repeats=2, device=device) if reads else float('nan')
    stream_ms = sum(reads) / (stream * 1e9) * 1e3 if reads else 0.0
    return dict(read_mb=sum(reads) / 1e6, floor_ms=floor_ms, layers=len(reads), median_gbps=gbps,
                stream_floor_ms=stream_ms, stream_gbps=stream)
