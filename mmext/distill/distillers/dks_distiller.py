"""DKS ("Deeply-supervised Knowledge Synergy", Sun et al., CVPR 2019, arXiv:1906.00675)."""
from typing import Dict, Optional, Sequence

import torch
from mmengine.registry import MODELS

from mmext.registry import register
from .aux_heads import AuxHeadSet, classification_ce, classification_targets
from .base_distiller import BaseDistiller, ConfigLike

__all__ = ['DKSDistiller']


@register('MODELS')
class DKSDistiller(BaseDistiller):
    """Deep supervision with knowledge synergy, no teacher: auxiliary classifiers on intermediate stages,
    CE on every head, plus the dense pairwise synergy loss between all heads.

    ``L = CE(main) + sum_i aux_weight * CE(aux_i) + sum_{i != j} KL(softmax(z_j).detach() || softmax(z_i))``,
    every weight 1 and temperature 1 as in the official code. Keys: ``student.*`` (main CE), ``aux.<i>.loss_ce``
    and ``distill.loss_synergy``. The auxiliary heads are dropped at export.

    Args:
        student (dict | str | nn.Module): The classifier config (mmpretrain).
        aux_heads (Sequence[dict]): ``[dict(source='backbone.layer2', head=dict(type='ResNetAuxClassifier',
            ...)), ...]``.
        classifier (str): The student's main classifier module. Defaults to ``'head.fc'``.
        aux_loss_weight (float): Weight of each auxiliary CE. Defaults to 1.0.
        synergy_loss (dict): Defaults to ``dict(type='PairwiseKLLoss', tau=1.0, loss_weight=1.0)``.
        **kwargs: Other :class:`BaseDistiller` arguments.
    """

    def __init__(self, student: ConfigLike, aux_heads: Sequence[dict], classifier: str = 'head.fc',
                 aux_loss_weight: float = 1.0,
                 synergy_loss: dict = dict(type='PairwiseKLLoss', tau=1.0, loss_weight=1.0), **kwargs) -> None:
        if kwargs.get('teacher') is not None:
            raise ValueError('DKSDistiller is self-distillation: it takes no teacher')
        super().__init__(student, **kwargs)
        self.aux = AuxHeadSet(self.student, aux_heads, classifier)
        self.aux_loss_weight = aux_loss_weight
        self.synergy_loss = MODELS.build(synergy_loss)

    def network_losses(self, inputs: torch.Tensor, data_samples: Optional[list]) -> Dict[str, torch.Tensor]:
        with self.aux.recorders.recording():
            return super().network_losses(inputs, data_samples)

    def compute_losses(self, inputs: torch.Tensor, data_samples: Optional[list]) -> Dict[str, torch.Tensor]:
        logits = self.aux.logits()
        target = classification_targets(data_samples)
        losses = {f'aux.{i}.loss_ce': self.aux_loss_weight * classification_ce(z, target)
                  for i, z in enumerate(logits[:-1])}
        losses['distill.loss_synergy'] = self.synergy_loss(logits)
        return losses

    def clear_records(self) -> None:
        super().clear_records()
        self.aux.recorders.clear()

    def remove_hooks(self) -> None:
        super().remove_hooks()
        self.aux.recorders.remove()
