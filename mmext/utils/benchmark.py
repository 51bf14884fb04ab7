"""Timing and memory helpers for mmext's benchmark scripts (never used for asserts in tests)."""
import gc
import resource
import statistics
import time
from typing import Callable, Dict

import torch

__all__ = ['measure', 'peak_rss_mib']


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def measure(fn: Callable[[], object], warmup: int = 2, iters: int = 10, device: str = 'cpu') -> Dict[str, float]:
    """Run ``fn`` ``warmup`` times untimed, then ``iters`` times timed.

    Returns:
        dict: ``median_ms``, ``mean_ms``, ``min_ms`` per call and ``peak_mem_mib``: the CUDA allocator's peak during
        the timed calls on a GPU, or on a CPU the growth of the process's peak RSS over the timed calls (0 when the
        peak was reached before).
    """
    cuda = device.startswith('cuda')
    for _ in range(warmup):
        fn()
    gc.collect()
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    rss_before = peak_rss_mib()
    times = []
    for _ in range(iters):
        start = time.perf_counter()
        fn()
        if cuda:
            torch.cuda.synchronize()
        times.append((time.perf_counter() - start) * 1000.0)
    mem = torch.cuda.max_memory_allocated() / 2**20 if cuda else peak_rss_mib() - rss_before
    return dict(median_ms=statistics.median(times), mean_ms=statistics.fmean(times), min_ms=min(times),
                peak_mem_mib=mem)
