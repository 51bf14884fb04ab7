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
        reduction (str): ``'mean'`` over every element (default) or ``'batch_sum'``: the sum over every element
            divided by the batch size, the form of MGD / Af-DCD's ``L_fd`` and ScaleKD's spatial view.
    """

    def __init__(self, loss_weight: float = 1.0, normalize: bool = False, reduction: str = 'mean') -> None:
        super().__init__()
        if reduction not in ('mean', 'batch_sum'):
            raise ValueError(f"DistillMSELoss: reduction must be 'mean' or 'batch_sum', got {reduction!r}")
        self.loss_weight = loss_weight
        self.normalize = normalize
        self.reduction = reduction

    def forward(self, student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
        if student.shape != teacher.shape:
            raise ValueError(f'DistillMSELoss: student {tuple(student.shape)} and teacher {tuple(teacher.shape)} '
                             f'must match; add a connector (channels) or set resize=True (spatial size)')
        with fp32_region(student):
            s, t = student.float(), teacher.detach().float()
            if self.normalize:
                s, t = F.normalize(s, dim=1), F.normalize(t, dim=1)
            if self.reduction == 'batch_sum':
                return self.loss_weight * F.mse_loss(s, t, reduction='sum') / s.shape[0]
            return self.loss_weight * F.mse_loss(s, t)
