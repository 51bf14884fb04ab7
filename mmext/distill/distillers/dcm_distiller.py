"""DCM ("Knowledge Transfer via Dense Cross-Layer Mutual-Distillation", Yao and Sun, ECCV 2020,
arXiv:2008.07816)."""
from typing import Dict, Optional, Sequence

import torch
from mmengine.registry import MODELS

from mmext.registry import register
from ..teacher import build_model_from_cfg
from .aux_heads import AuxHeadSet, classification_ce, classification_targets
from .base_distiller import BaseDistiller, ConfigLike

__all__ = ['DCMDistiller']


@register('MODELS')
class DCMDistiller(BaseDistiller):
    """Two networks trained together from scratch, each with auxiliary heads, with dense bidirectional
    cross-layer KL between every head of one and every head of the other.

    With ``k1`` and ``k2`` heads (auxiliary + final) the loss is the CE of all ``k1 + k2`` heads plus
    ``sum_{i in net1, j in net2} [KL(p_j.detach() || p_i) + KL(p_i.detach() || p_j)]`` (``2 k1 k2`` terms,
    18 for the paper's 3 + 3), weight 1 and temperature 1, no intra-network terms (as in the released code).
    Keys: ``student.*`` and ``peer.*`` (the final CEs), ``aux.student.<i>.loss_ce``, ``aux.peer.<i>.loss_ce``,
    ``distill.loss_dcm``. Validation evaluates ``student`` (net 1); either network can be exported
    (``export_state_dict('student')`` or ``('peer')``).

    Args:
        student (dict | str | nn.Module): Network 1 (mmpretrain classifier config).
        peer (dict | str | nn.Module): Network 2.
        student_aux_heads (Sequence[dict]): Auxiliary heads of network 1 (see :class:`DKSDistiller`).
        peer_aux_heads (Sequence[dict]): Auxiliary heads of network 2.
        classifier (str): Main classifier module of both networks. Defaults to ``'head.fc'``.
        aux_loss_weight (float): Weight of each auxiliary CE. Defaults to 1.0.
        cross_loss (dict): Defaults to ``dict(type='PairwiseKLLoss', tau=1.0, loss_weight=1.0)``.
        **kwargs: Other :class:`BaseDistiller` arguments.
    """

    def __init__(self, student: ConfigLike, peer: ConfigLike, student_aux_heads: Sequence[dict],
                 peer_aux_heads: Sequence[dict], classifier: str = 'head.fc', aux_loss_weight: float = 1.0,
                 cross_loss: dict = dict(type='PairwiseKLLoss', tau=1.0, loss_weight=1.0), **kwargs) -> None:
        if kwargs.get('teacher') is not None:
            raise ValueError('DCMDistiller trains two networks mutually: it takes a `peer`, not a teacher')
        super().__init__(student, **kwargs)
        self.peer = build_model_from_cfg(peer, 'peer')
        self.student_aux = AuxHeadSet(self.student, student_aux_heads, classifier)
        self.peer_aux = AuxHeadSet(self.peer, peer_aux_heads, classifier)
        self.aux_loss_weight = aux_loss_weight
        self.cross_loss = MODELS.build(cross_loss)
        k1, k2 = len(self.student_aux.heads) + 1, len(self.peer_aux.heads) + 1
        mask = torch.zeros(k1 + k2, k1 + k2, dtype=torch.bool)
        mask[:k1, k1:] = True
        mask[k1:, :k1] = True
        self.register_buffer('cross_mask', mask, persistent=False)

    def network_losses(self, inputs: torch.Tensor, data_samples: Optional[list]) -> Dict[str, torch.Tensor]:
        with self.student_aux.recorders.recording(), self.peer_aux.recorders.recording():
            losses = super().network_losses(inputs, data_samples)
            losses.update({f'peer.{k}': v for k, v in self.peer(inputs, data_samples, mode='loss').items()})
        return losses

    def compute_losses(self, inputs: torch.Tensor, data_samples: Optional[list]) -> Dict[str, torch.Tensor]:
        target = classification_targets(data_samples)
        losses = {}
        all_logits = []
        for name, aux in (('student', self.student_aux), ('peer', self.peer_aux)):
            logits = aux.logits()
            all_logits += logits
            for i, z in enumerate(logits[:-1]):
                losses[f'aux.{name}.{i}.loss_ce'] = self.aux_loss_weight * classification_ce(z, target)
        losses['distill.loss_dcm'] = self.cross_loss(all_logits, self.cross_mask)
        return losses

    def clear_records(self) -> None:
        super().clear_records()
        self.student_aux.recorders.clear()
        self.peer_aux.recorders.clear()

    def remove_hooks(self) -> None:
        super().remove_hooks()
        self.student_aux.recorders.remove()
        self.peer_aux.recorders.remove()
