"""The frequency view of ScaleKD's dual-view feature mimicking ("ScaleKD: Strong Vision Transformers Could Be
Excellent Teachers", Fan et al., NeurIPS 2024, arXiv:2411.06786)."""
import math

import torch
import torch.nn.functional as F
from torch import nn

from mmext.registry import register
from .utils import fp32_region

__all__ = ['DCTHighPassMSELoss', 'dct_matrix']


def dct_matrix(n: int, device=None, dtype=torch.float32) -> torch.Tensor:
    """The orthonormal DCT-II matrix ``D`` (``X = D x``; its inverse is ``D.T``)."""
    k = torch.arange(n, device=device, dtype=torch.float64)[:, None]
    i = torch.arange(n, device=device, dtype=torch.float64)[None, :]
    d = torch.cos(math.pi * (2 * i + 1) * k / (2 * n)) * math.sqrt(2.0 / n)
    d[0] /= math.sqrt(2.0)
    return d.to(dtype)


@register('MODELS')
class DCTHighPassMSELoss(nn.Module):
    """``loss_weight * sum((n(hp(s)) - n(hp(t)))**2) / B``: 2-D DCT over (H, W), DC coefficient ``[0, 0]`` set to
    zero, inverse DCT, L2 normalisation over channels ``n``, squared error summed and divided by the batch size.

    The release builds an unnormalised DCT for square maps only; the DC removal does not depend on the DCT's
    normalisation (the DCT basis is orthogonal, so zeroing the DC coefficient removes each channel's spatial
    mean), and here H and W may differ. Computed in fp32, the teacher detached.

    Args:
        loss_weight (float): ``alpha[1]``. Defaults to 0.06 (ScaleKD's configs).
    """

    def __init__(self, loss_weight: float = 0.06) -> None:
        super().__init__()
        self.loss_weight = loss_weight

    @staticmethod
    def high_pass(x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        dh, dw = dct_matrix(h, x.device, x.dtype), dct_matrix(w, x.device, x.dtype)
        keep = torch.ones(h, w, device=x.device, dtype=x.dtype)
        keep[0, 0] = 0
        return dh.t() @ ((dh @ x @ dw.t()) * keep) @ dw

    def forward(self, student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
        if student.shape != teacher.shape or student.dim() != 4:
            raise ValueError(f'DCTHighPassMSELoss: student {tuple(student.shape)} and teacher '
                             f'{tuple(teacher.shape)} must be equal (B, C, H, W) maps')
        with fp32_region(student):
            s = F.normalize(self.high_pass(student.float()), dim=1)
            t = F.normalize(self.high_pass(teacher.detach().float()), dim=1)
            return self.loss_weight * ((s - t)**2).sum() / student.shape[0]
