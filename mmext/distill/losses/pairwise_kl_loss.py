"""Dense pairwise KL between classifier heads: the synergy loss of DKS ("Deeply-supervised Knowledge Synergy",
CVPR 2019, arXiv:1906.00675) and the cross-network loss of DCM ("Knowledge Transfer via Dense Cross-Layer
Mutual-Distillation", ECCV 2020, arXiv:2008.07816)."""
from typing import Optional, Sequence

import torch
from torch import nn

from mmext.registry import register
from .utils import kl_div_logits

__all__ = ['PairwiseKLLoss']


@register('MODELS')
class PairwiseKLLoss(nn.Module):
    """``loss_weight * sum_{(i,j): mask[i,j]} KL(softmax(z_j).detach() || softmax(z_i))`` (batch mean).

    ``mask[i][j]`` true means head ``i`` learns from head ``j`` (``j`` is detached, so each term trains only
    head ``i``). DKS uses every ordered pair ``i != j`` of one network (``mask=None``); DCM uses only the
    cross-network blocks. Temperature 1 and weight 1 in both papers' code.

    Args:
        tau (float): Temperature. Defaults to 1.0.
        loss_weight (float): Weight. Defaults to 1.0.
    """

    def __init__(self, tau: float = 1.0, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.tau = tau
        self.loss_weight = loss_weight

    def forward(self, logits: Sequence[torch.Tensor], mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        k = len(logits)
        if k < 2:
            raise ValueError(f'PairwiseKLLoss: needs at least 2 heads, got {k}')
        if mask is None:
            mask = ~torch.eye(k, dtype=torch.bool)
        if tuple(mask.shape) != (k, k):
            raise ValueError(f'PairwiseKLLoss: mask must be {k}x{k} for {k} heads, got {tuple(mask.shape)}')
        terms = [kl_div_logits(logits[i], logits[j], self.tau).mean()
                 for i in range(k) for j in range(k) if bool(mask[i, j])]
        if not terms:
            raise ValueError('PairwiseKLLoss: the mask selects no pair')
        return self.loss_weight * torch.stack(terms).sum()
