"""Timing and memory helpers for mmext's benchmark scripts (never used for asserts in tests).

Peak memory is measured, not inferred: on a GPU it is the CUDA allocator's ``max_memory_allocated`` over the timed
calls; on a CPU it is the peak of the process's resident memory *during one extra, untimed call*, above its level
at the start of that call, sampled every 0.5 ms from ``/proc/self/statm`` by a thread (torch ops release the GIL,
so the sampler runs while they compute). For that, glibc is set to return freed memory to the OS during that call
only (``mallopt(M_MMAP_THRESHOLD, 128 KiB)`` fixes the threshold above which blocks are mmapped and
``malloc_trim(0)`` runs before the call); otherwise freed tensors stay in the heap, the call reuses them and the
growth of the process's lifetime peak (``ru_maxrss``, what this helper reported before) reads close to 0. After the
call the threshold goes back to ``MALLOC_MMAP_THRESHOLD_`` when the process was started with it (as
``tools/cpu_malloc_env.py`` starts the tools), else to 32 MiB, glibc's largest dynamic value: left at 128 KiB it
made every later timed call pay page faults for its large tensors (before 2026-12-03 it was left there, so the
timings after the first memory measurement of a run were slowed, the dynamic convolutions most).
"""
import ctypes
import gc
import os
import resource
import statistics
import threading
import time
from typing import Callable, Dict, Optional

import torch

__all__ = ['measure', 'peak_rss_mib', 'rss_peak_during_mib']

_M_MMAP_THRESHOLD = -3
_LIBC: Optional[ctypes.CDLL] = None
_LIBC_TRIED = False


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _libc() -> Optional[ctypes.CDLL]:
    global _LIBC, _LIBC_TRIED
    if not _LIBC_TRIED:
        _LIBC_TRIED = True
        try:
            _LIBC = ctypes.CDLL('libc.so.6')
            _LIBC.mallopt  # noqa: B018  (glibc only)
        except (OSError, AttributeError):
            _LIBC = None
    return _LIBC


def _rss_bytes() -> int:
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')


def rss_peak_during_mib(fn: Callable[[], object], period_s: float = 0.0005) -> Optional[float]:
    """Peak resident memory above the level at the start while ``fn`` runs, in MiB (None without /proc).

    See the module docstring for how freed memory is made visible; one call of ``fn``.
    """
    if not os.path.exists('/proc/self/statm'):
        return None
    libc = _libc()
    gc.collect()
    if libc is not None:
        libc.mallopt(_M_MMAP_THRESHOLD, 128 * 1024)
        libc.malloc_trim(0)
    start = _rss_bytes()
    peak = [start]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _rss_bytes())
            time.sleep(period_s)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        fn()
    finally:
        done.set()
        sampler.join()
        if libc is not None:
            libc.mallopt(_M_MMAP_THRESHOLD, int(os.environ.get('MALLOC_MMAP_THRESHOLD_', 32 * 2**20)))
    peak[0] = max(peak[0], _rss_bytes())
    return (peak[0] - start) / 2**20


CPU_PEAK_WHAT = 'cpu: peak RSS above the call start during one untimed call, sampled every 0.5 ms'
CUDA_PEAK_WHAT = 'cuda: torch.cuda.max_memory_allocated over the timed calls'


def measure(fn: Callable[[], object], warmup: int = 2, iters: int = 10, device: str = 'cpu') -> Dict[str, object]:
    """Run ``fn`` ``warmup`` times untimed, then ``iters`` times timed, then (on a CPU) once for the memory.

    Returns:
        dict: ``median_ms``, ``mean_ms``, ``min_ms`` per call, ``peak_mem_mib`` and ``peak_mem_what`` (which
        measurement ``peak_mem_mib`` is: :data:`CUDA_PEAK_WHAT` or :data:`CPU_PEAK_WHAT`).
    """
    cuda = device.startswith('cuda')
    for _ in range(warmup):
        fn()
    gc.collect()
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(iters):
        start = time.perf_counter()
        fn()
        if cuda:
            torch.cuda.synchronize()
        times.append((time.perf_counter() - start) * 1000.0)
    if cuda:
        mem, what = torch.cuda.max_memory_allocated() / 2**20, CUDA_PEAK_WHAT
    else:
        mem, what = rss_peak_during_mib(fn), CPU_PEAK_WHAT
    return dict(median_ms=statistics.median(times), mean_ms=statistics.fmean(times), min_ms=min(times),
                peak_mem_mib=mem, peak_mem_what=what)
