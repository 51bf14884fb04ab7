"""Logit distillation as a soft cross-entropy, the form ScaleKD uses ("ScaleKD: Strong Vision Transformers Could
Be Excellent Teachers", Fan et al., NeurIPS 2024, arXiv:2411.06786), computed stably."""
import torch
import torch.nn.functional as F
from torch import nn

from mmext.registry import register
from .utils import fp32_region

__all__ = ['SoftCrossEntropyKDLoss']


@register('MODELS')
class SoftCrossEntropyKDLoss(nn.Module):
    """``-loss_weight * tau**2 * mean_n sum_c softmax(t/tau)_c * log_softmax(s/tau)_c``.

    It differs from the KL divergence by the teacher entropy (a constant for the student), so the gradients are
    the same as KD's and the value is the release's. The release computes ``log(softmax(s))``, which gives
    ``-inf * 0 = NaN`` once a student probability underflows; ``log_softmax`` in fp32 does not.

    Args:
        tau (float): Temperature. Defaults to 1.0 (ScaleKD's configs).
        loss_weight (float): ``alpha``. Defaults to 0.5 (ScaleKD's configs; the student CE gets ``1 - alpha``
            through its head's ``loss_weight``).
    """

    def __init__(self, tau: float = 1.0, loss_weight: float = 0.5) -> None:
        super().__init__()
        if tau <= 0:
            raise ValueError(f'SoftCrossEntropyKDLoss: tau must be > 0, got {tau}')
        self.tau = tau
        self.loss_weight = loss_weight

    def forward(self, student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
        if student.shape != teacher.shape or student.dim() != 2:
            raise ValueError(f'SoftCrossEntropyKDLoss: student {tuple(student.shape)} and teacher '
                             f'{tuple(teacher.shape)} logits must be equal (N, C)')
        with fp32_region(student):
            log_p_s = F.log_softmax(student.float() / self.tau, dim=1)
            p_t = F.softmax(teacher.detach().float() / self.tau, dim=1)
            return -self.loss_weight * self.tau**2 * (p_t * log_p_s).sum(dim=1).mean()
