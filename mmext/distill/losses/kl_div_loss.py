"""Logit distillation with a temperature (Hinton et al., "Distilling the Knowledge in a Neural Network",
NIPS 2014 workshop, arXiv:1503.02531)."""
import torch
from torch import nn

from mmext.registry import register
from .utils import kl_div_logits

__all__ = ['DistillKLDivLoss']


@register('MODELS')
class DistillKLDivLoss(nn.Module):
    """``loss_weight * tau**2 * KL(softmax(t/tau) || softmax(s/tau))``, averaged over samples (and pixels).

    For dense logits ``(N, C, H, W)`` the KL is averaged over the ``N*H*W`` pixels, so the loss scale does not
    depend on the resolution (mmrazor's ``batchmean`` sums over pixels). Computed in fp32; the target is detached.

    Args:
        tau (float): Temperature. Defaults to 1.0.
        loss_weight (float): Weight. Defaults to 1.0.
    """

    def __init__(self, tau: float = 1.0, loss_weight: float = 1.0) -> None:
        super().__init__()
        if tau <= 0:
            raise ValueError(f'DistillKLDivLoss: tau must be > 0, got {tau}')
        self.tau = tau
        self.loss_weight = loss_weight

    def forward(self, student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
        return self.loss_weight * kl_div_logits(student, teacher, self.tau).mean()
