"""A configurable feature/logit distiller for any mmpretrain, mmdet or mmseg student."""
from typing import Dict, List, Optional, Sequence

import torch
from mmengine.registry import MODELS
from torch import nn

from mmext.registry import register
from ..connectors import resize_to
from .base_distiller import BaseDistiller, ConfigLike

__all__ = ['FeatureDistiller']


@register('MODELS')
class FeatureDistiller(BaseDistiller):
    """Distils recorded student outputs towards recorded teacher outputs, one loss per entry of ``distill_cfgs``.

    Each entry is ``dict(name=..., student=dict(source=..., index=None), teacher=dict(source=..., index=None),
    loss=dict(type='DistillMSELoss'), connector=None, resize=True)``: the student record goes through the
    optional connector (built once, run once per step), is bilinearly resized to the teacher's spatial size when
    ``resize`` and the sizes differ, and the loss compares it with the teacher record. The loss key is
    ``distill.loss_<name>``. Examples: FPN-level feature mimicking for an mmdet detector (FitNets, ICLR 2015,
    arXiv:1412.6550), dense logit KL on an mmseg decode head, logit KD (Hinton et al., arXiv:1503.02531) for an
    mmpretrain classifier.

    Args:
        student (dict | str | nn.Module): Student model config.
        teacher (dict | str | nn.Module): Teacher model config or config path.
        teacher_ckpt (str): Teacher checkpoint.
        distill_cfgs (Sequence[dict]): The distillation terms, at least one.
        **kwargs: Other :class:`BaseDistiller` arguments (``teacher_forward``, ``data_preprocessor`` ...).
    """

    def __init__(self, student: ConfigLike, teacher: ConfigLike, teacher_ckpt: Optional[str] = None,
                 distill_cfgs: Sequence[dict] = (), **kwargs) -> None:
        if not distill_cfgs:
            raise ValueError('FeatureDistiller: distill_cfgs must list at least one term')
        names: List[str] = []
        for i, term in enumerate(distill_cfgs):
            missing = {'name', 'student', 'teacher', 'loss'} - set(term)
            if missing:
                raise KeyError(f'FeatureDistiller: distill_cfgs[{i}] lacks {sorted(missing)}')
            if term['name'] in names:
                raise ValueError(f'FeatureDistiller: duplicate distill_cfgs name {term["name"]!r}')
            names.append(term['name'])
        super().__init__(student, teacher, teacher_ckpt,
                         teacher_recorders={t['name']: t['teacher'] for t in distill_cfgs},
                         student_recorders={t['name']: t['student'] for t in distill_cfgs}, **kwargs)
        self.terms = [dict(name=t['name'], resize=t.get('resize', True)) for t in distill_cfgs]
        self.connectors = nn.ModuleDict(
            {t['name']: MODELS.build(t['connector']) for t in distill_cfgs if t.get('connector') is not None})
        self.distill_losses = nn.ModuleDict({t['name']: MODELS.build(t['loss']) for t in distill_cfgs})

    def compute_losses(self, inputs: torch.Tensor, data_samples: Optional[list]) -> Dict[str, torch.Tensor]:
        losses = {}
        for term in self.terms:
            name = term['name']
            s, t = self.student_recorders[name], self.teacher_recorders[name]
            if name in self.connectors:
                s = self.connectors[name](s)
            if term['resize'] and s.dim() == 4 and s.shape[-2:] != t.shape[-2:]:
                s = resize_to(s, t.shape[-2:])
            losses[f'distill.loss_{name}'] = self.distill_losses[name](s, t)
        return losses
