"""Auxiliary classifier heads hung off recorded stages of a classifier, shared by DKS and DCM."""
from typing import List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.registry import MODELS
from torch import nn

from ..losses import fp32_region
from ..recorder import RecorderGroup

__all__ = ['AuxHeadSet', 'classification_targets', 'classification_ce']


class AuxHeadSet(nn.Module):
    """Auxiliary heads on one network, each fed by a forward-hook record of an intermediate module.

    Args:
        model (nn.Module): The network (e.g. an mmpretrain ``ImageClassifier``).
        aux_heads (Sequence[dict]): ``[dict(source='backbone.layer2', index=None, head=dict(type=...)), ...]``.
        classifier (str): Module whose output is the network's main logits. Defaults to ``'head.fc'``.
    """

    def __init__(self, model: nn.Module, aux_heads: Sequence[dict], classifier: str = 'head.fc') -> None:
        super().__init__()
        if not aux_heads:
            raise ValueError('aux_heads must list at least one dict(source=..., head=...)')
        sources = {'main': dict(source=classifier)}
        heads = []
        for i, spec in enumerate(aux_heads):
            if 'source' not in spec or 'head' not in spec:
                raise KeyError(f'aux_heads[{i}] needs `source` and `head`, got {sorted(spec)}')
            sources[f'aux{i}'] = dict(source=spec['source'], index=spec.get('index'))
            heads.append(MODELS.build(spec['head']))
        self.heads = nn.ModuleList(heads)
        # a plain attribute: the recorders hook into ``model`` and are not modules themselves
        self.recorders = RecorderGroup(model, sources)

    def logits(self) -> List[torch.Tensor]:
        """``[aux_0, ..., aux_{k-1}, main]`` logits of the step just recorded."""
        return [head(self.recorders[f'aux{i}']) for i, head in enumerate(self.heads)] + [self.recorders['main']]


def classification_targets(data_samples: Optional[list]) -> torch.Tensor:
    """Targets from mmpretrain ``DataSample``s: soft ``gt_score`` (mixup/cutmix) when present, else ``gt_label``."""
    if not data_samples:
        raise ValueError('auxiliary classifiers need data_samples with gt_label')
    if 'gt_score' in data_samples[0]:
        return torch.stack([ds.gt_score for ds in data_samples])
    if 'gt_label' not in data_samples[0]:
        raise KeyError('auxiliary classifiers need data_samples with gt_label (a classification student)')
    return torch.cat([ds.gt_label for ds in data_samples])


def classification_ce(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Cross-entropy in fp32, with hard (class index) or soft (score) targets."""
    with fp32_region(logits):
        logits = logits.float()
        if target.dim() == 2:
            return -(target.float() * F.log_softmax(logits, dim=1)).sum(1).mean()
        return F.cross_entropy(logits, target.to(logits.device).long())
