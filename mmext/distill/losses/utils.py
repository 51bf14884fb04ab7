"""Numerics shared by the distillation losses: fp32 with autocast off, ``log_softmax`` based KL."""
from contextlib import contextmanager
from typing import Iterator

import torch
import torch.nn.functional as F

__all__ = ['fp32_region', 'kl_div_logits']


@contextmanager
def fp32_region(tensor: torch.Tensor) -> Iterator[None]:
    """Disable autocast on the tensor's device type inside the block (inputs must be cast with ``.float()``)."""
    with torch.autocast(device_type=tensor.device.type, enabled=False):
        yield


def kl_div_logits(student: torch.Tensor, target: torch.Tensor, tau: float = 1.0) -> torch.Tensor:
    """``tau**2 * KL(softmax(target/tau) || softmax(student/tau))`` per sample (or per pixel), in fp32.

    Logits have the class axis at dim 1: ``(N, C)`` or ``(N, C, *spatial)``. The result has the class axis summed
    out, shape ``(N, *spatial)``. The target side is detached. ``log_softmax`` on both sides, so no 1e-8 smoothing
    is needed (it underflows in fp16).
    """
    if student.shape != target.shape:
        raise ValueError(f'KL: student logits {tuple(student.shape)} and target logits {tuple(target.shape)} '
                         f'must have the same shape')
    if tau <= 0:
        raise ValueError(f'tau must be > 0, got {tau}')
    with fp32_region(student):
        log_p_s = F.log_softmax(student.float() / tau, dim=1)
        log_p_t = F.log_softmax(target.detach().float() / tau, dim=1)
        kl = (log_p_t.exp() * (log_p_t - log_p_s)).sum(dim=1)
    return kl * (tau**2)
