"""Feature mimicking with a mean squared error (FitNets: "Hints for Thin Deep Nets", ICLR 2015,
arXiv:1412.6550)."""
import torch
import torch.nn.functional as F
from torch import nn

from mmext.registry import register
from .utils import fp32_region

__all__ = ['DistillMSELoss']


@register('MODELS')
class DistillMSELoss(nn.Module):
    """``loss_weight * mean((s - t)**2)`` in fp32, the teacher side detached.

    Args:
        loss_weight (float): Weight. Defaults to 1.0.
        normalize (bool): L2-normalise both features over the channel axis (dim 1) first. Defaults to False.
    """

    def __init__(self, loss_weight: float = 1.0, normalize: bool = False) -> None:
        super().__init__()
        self.loss_weight = loss_weight
        self.normalize = normalize

    def forward(self, student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
        if student.shape != teacher.shape:
            raise ValueError(f'DistillMSELoss: student {tuple(student.shape)} and teacher {tuple(teacher.shape)} '
                             f'must match; add a connector (channels) or set resize=True (spatial size)')
        with fp32_region(student):
            s, t = student.float(), teacher.detach().float()
            if self.normalize:
                s, t = F.normalize(s, dim=1), F.normalize(t, dim=1)
            return self.loss_weight * F.mse_loss(s, t)
