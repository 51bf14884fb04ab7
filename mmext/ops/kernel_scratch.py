"""Reusable CPU buffers for the per-sample kernels of dynamic convolutions at inference.

ODConv ("Omni-Dimensional Dynamic Convolution", ICLR 2022, arXiv 2209.07947) and KernelWarehouse ("KernelWarehouse:
Rethinking the Design of Dynamic Convolution", ICML 2024, arXiv 2406.07879) assemble a fresh kernel in every call.
On a CPU a freshly allocated multi-MiB tensor is not free: glibc serves large requests with ``mmap`` and returns
them with ``munmap``, so each new kernel is paid in page faults while it is written, and the convolution that
reads it right after ran up to 2x slower here (one thread, 2026-12-03: a 512x512x3x3 kernel scaled and convolved
at 7x7 took 5.9 ms with a new kernel per call against 2.7 ms with the same multiply written into a kept buffer).

Inside :func:`kernel_scratch_scope` (entered by :func:`~mmext.ops.dynamic_conv.per_sample_conv2d` around the
assembly and the convolution of its no-grad path only) :func:`kernel_scratch` hands out one kept flat buffer per
thread, slot, dtype and inference-mode state; the kernel written there is consumed by the convolution before the
scope ends, so the layers of a network, which run one after another, share it. Outside the scope, with autograd
on, on other devices than the CPU (whose caching allocators already reuse memory), or above
:data:`SCRATCH_MAX_BYTES`, it returns None and the caller allocates as usual. Nothing returned to a user ever
lives in a scratch buffer.
"""
import math
import threading
from contextlib import contextmanager
from typing import Dict, Iterator, Optional, Sequence, Tuple

import torch
from torch import Tensor

__all__ = ['SCRATCH_MAX_BYTES', 'derived_cache_key', 'kernel_scratch', 'kernel_scratch_scope']

#: Largest buffer kept per slot (a KW-ResNet-50 batch-1 kernel is at most 9 MiB; batch 8 about 72 MiB).
SCRATCH_MAX_BYTES = 128 * 2**20


class _ThreadScratch(threading.local):
    """Per-thread scope depth and buffers (threads never share a buffer)."""

    def __init__(self) -> None:
        self.depth = 0
        self.buffers: Dict[Tuple[int, torch.dtype, bool], Tensor] = {}


_STATE = _ThreadScratch()


@contextmanager
def kernel_scratch_scope() -> Iterator[None]:
    """Allow :func:`kernel_scratch` buffers: everything written to them must be consumed inside the scope."""
    _STATE.depth += 1
    try:
        yield
    finally:
        _STATE.depth -= 1


def kernel_scratch(shape: Sequence[int], like: Tensor, slot: int = 0) -> Optional[Tensor]:
    """A kept contiguous buffer of ``shape`` with ``like``'s dtype, or None where it must not be used.

    Args:
        shape (sequence of int): Shape of the returned view.
        like (Tensor): Gives the dtype and the device (only CPU tensors get a buffer).
        slot (int): Independent buffers for values that are alive at the same time. Defaults to 0.

    Returns:
        Tensor | None: Uninitialised view of the thread's buffer for ``(slot, dtype)``, or None outside
        :func:`kernel_scratch_scope`, with autograd enabled, off the CPU or above :data:`SCRATCH_MAX_BYTES`.
    """
    if not _STATE.depth or torch.is_grad_enabled() or like.device.type != 'cpu':
        return None
    numel = math.prod(int(s) for s in shape)
    if numel * like.element_size() > SCRATCH_MAX_BYTES:
        return None
    # tensors made under inference_mode cannot be written outside it (and the other way round): separate buffers
    key = (slot, like.dtype, torch.is_inference_mode_enabled())
    buf = _STATE.buffers.get(key)
    if buf is None or buf.numel() < numel:
        buf = torch.empty(numel, dtype=like.dtype)
        _STATE.buffers[key] = buf
    return buf[:numel].view(*shape)


def derived_cache_key(tensors: Sequence[Tensor]) -> Optional[tuple]:
    """Key of a value derived from ``tensors`` that may be kept (None with autograd on them): storage, version, dtype.

    In-place updates (``load_state_dict``, optimiser steps, running statistics) bump the version, so a kept value
    whose key no longer matches is stale.
    """
    if torch.is_grad_enabled() and any(t.requires_grad for t in tensors):
        return None
    return tuple((t.data_ptr(), t._version, t.dtype) for t in tensors)
