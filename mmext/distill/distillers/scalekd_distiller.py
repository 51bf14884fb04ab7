"""ScaleKD ("ScaleKD: Strong Vision Transformers Could Be Excellent Teachers", Fan et al., NeurIPS 2024,
arXiv:2411.06786) for mmpretrain classifiers."""
from typing import Dict, Optional

import torch
from mmengine.registry import MODELS
from torch import nn

from mmext.registry import register
from .base_distiller import BaseDistiller, ConfigLike
from .teacher_stages import build_teacher_stage, tokens_to_map

__all__ = ['ScaleKDDistiller']

VIEWS = ('spat', 'freq')


@register('MODELS')
class ScaleKDDistiller(BaseDistiller):
    """ScaleKD: cross-attention projectors (CAP), dual-view feature mimicking (DFM) and teacher parameter
    perception (TPP) from a transformer teacher into any student, plus logit KD in soft-CE form.

    Per view (spatial: L2-normalised MSE; frequency: the same after removing the DC term of a 2-D DCT), the
    student's stage-3 map goes through its own CAP onto the teacher's stage-3 token grid, then through the frozen
    teacher's last stage (TPP: gradients flow through the teacher's blocks into the student, nothing of the
    teacher is trained), and is compared with the teacher's real last-stage feature (``distill.loss_s3_<view>``).
    The student's stage-4 map goes through a CAP whose queries are those TPP outputs and is compared with the same
    teacher feature (``distill.loss_s4_<view>``). ``distill.loss_kd`` is the soft cross-entropy on the logits; the
    student's own losses are multiplied by ``student_loss_weight`` (the release's ``1 - alpha`` = 0.5; or leave
    it 1 and set the student head's ``loss_weight``).

    The teacher is kept in eval mode by the core, so a Swin teacher's stochastic depth is off while distilling
    (the release leaves it on: nothing there keeps its teacher in eval mode after ``model.train()``).

    Args:
        student (dict | str | nn.Module): The student classifier.
        teacher (dict | str | nn.Module): The teacher classifier (mmpretrain Swin, ViT, DeiT or BEiT backbone).
        teacher_ckpt (str): Teacher checkpoint.
        teacher_stage (dict): ``dict(type='swin')`` or ``dict(type='vit', split=k)``: how the teacher's last
            stage is run (see :mod:`mmext.distill.distillers.teacher_stages`).
        student_s3 (dict): Recorder of the student's stage-3 feature, ``dict(source=..., index=...)``, plus
            ``num_extra_tokens`` for token outputs (ViT: 1, the cls token). Defaults to ``backbone`` output -2.
        student_s4 (dict): Same for stage 4. Defaults to ``backbone`` output -1.
        s3_projector (dict): :class:`CrossAttentionProjector` arguments of the stage-3 CAPs (``student_channels``,
            ``teacher_channels``, ``student_hw``, ``query_hw`` = the teacher's stage-3 grid, ``num_heads``,
            ``softmax_scale``); ``self_query`` is True.
        s4_projector (dict): Same for the stage-4 CAPs; ``query_hw`` is the teacher's last-stage grid and
            ``teacher_channels`` its channels; ``self_query`` is False.
        spatial_loss (dict): Defaults to ``DistillMSELoss(normalize=True, reduction='batch_sum',
            loss_weight=0.08)``.
        frequency_loss (dict): Defaults to ``DCTHighPassMSELoss(loss_weight=0.06)``.
        kd_loss (dict, optional): Defaults to ``SoftCrossEntropyKDLoss(tau=1, loss_weight=0.5)``.
        student_logits (str): The student's classifier layer. Defaults to ``'head.fc'``.
        teacher_logits (str): The teacher's classifier layer. Defaults to ``'head.fc'`` (``'head.layers.head'`` for
            mmpretrain's ViT head).
        student_loss_weight (float): Factor on the student's own losses (``1 - alpha``). Defaults to 1.0.
        **kwargs: Other :class:`BaseDistiller` arguments.
    """

    def __init__(self, student: ConfigLike, teacher: ConfigLike, teacher_ckpt: Optional[str] = None,
                 teacher_stage: dict = dict(type='swin'),
                 student_s3: dict = dict(source='backbone', index=-2),
                 student_s4: dict = dict(source='backbone', index=-1),
                 s3_projector: Optional[dict] = None, s4_projector: Optional[dict] = None,
                 spatial_loss: dict = dict(type='DistillMSELoss', normalize=True, reduction='batch_sum',
                                           loss_weight=0.08),
                 frequency_loss: dict = dict(type='DCTHighPassMSELoss', loss_weight=0.06),
                 kd_loss: Optional[dict] = dict(type='SoftCrossEntropyKDLoss', tau=1.0, loss_weight=0.5),
                 student_logits: str = 'head.fc', teacher_logits: str = 'head.fc', student_loss_weight: float = 1.0,
                 **kwargs) -> None:
        if s3_projector is None or s4_projector is None:
            raise KeyError('ScaleKDDistiller: s3_projector and s4_projector are required (CrossAttentionProjector '
                           'arguments: student_channels, teacher_channels, student_hw, query_hw, num_heads)')
        self.student_specs = {}
        student_rec = {}
        for name, spec in (('s3', student_s3), ('s4', student_s4)):
            spec = dict(spec)
            self.student_specs[name] = dict(num_extra_tokens=spec.pop('num_extra_tokens', 0))
            student_rec[name] = spec
        teacher_rec = {}
        if kd_loss is not None:
            student_rec['logits'] = dict(source=student_logits)
            teacher_rec['logits'] = dict(source=teacher_logits)
        kwargs.setdefault('teacher_forward', 'tensor' if kd_loss is not None else 'extract_feat')
        super().__init__(student, teacher, teacher_ckpt, teacher_recorders=teacher_rec,
                         student_recorders=student_rec, **kwargs)
        self.teacher_stage = None
        if self.has_teacher:
            self.teacher_stage = build_teacher_stage(teacher_stage, self.teacher)
            self.teacher_recorders.add('s4', self.teacher_stage.target)
            if self.teacher_stage.extra is not None:
                self.teacher_recorders.add('s3_extra', self.teacher_stage.extra)
        self.s3_hw = tuple(s3_projector['query_hw'])
        self.s4_hw = tuple(s4_projector['query_hw'])
        self.student_specs['s3']['hw'] = tuple(s3_projector['student_hw'])
        self.student_specs['s4']['hw'] = tuple(s4_projector['student_hw'])
        self.projectors = nn.ModuleDict()
        for view in VIEWS:
            self.projectors[f's3_{view}'] = MODELS.build(
                dict(s3_projector, type='CrossAttentionProjector', self_query=True))
            self.projectors[f's4_{view}'] = MODELS.build(
                dict(s4_projector, type='CrossAttentionProjector', self_query=False))
        self.view_losses = nn.ModuleDict(dict(spat=MODELS.build(spatial_loss), freq=MODELS.build(frequency_loss)))
        self.kd_loss = MODELS.build(kd_loss) if kd_loss is not None else None
        self.student_loss_weight = student_loss_weight

    def network_losses(self, inputs: torch.Tensor, data_samples: Optional[list]) -> Dict[str, torch.Tensor]:
        losses = super().network_losses(inputs, data_samples)
        if self.student_loss_weight != 1.0:
            losses = {k: v * self.student_loss_weight if 'loss' in k else v for k, v in losses.items()}
        return losses

    def _student_map(self, name: str) -> torch.Tensor:
        spec = self.student_specs[name]
        return tokens_to_map(self.student_recorders[name], spec['hw'], spec['num_extra_tokens'], f'student {name}')

    def compute_losses(self, inputs: torch.Tensor, data_samples: Optional[list]) -> Dict[str, torch.Tensor]:
        stage = self.teacher_stage
        t4 = stage.target_map(self.teacher_recorders['s4'], self.s4_hw)
        if tuple(t4.shape[-2:]) != self.s4_hw:
            raise ValueError(f'ScaleKDDistiller: the teacher last-stage grid is {tuple(t4.shape[-2:])}, but '
                             f's4_projector.query_hw is {self.s4_hw}')
        extra = None
        if stage.needs_extra_tokens:
            extra = self.teacher_recorders['s3_extra']
            grid = stage.grid(inputs)
            if grid != self.s3_hw or grid != self.s4_hw:
                raise ValueError(f'ScaleKDDistiller: the ViT teacher has a {grid} token grid for inputs of '
                                 f'{tuple(inputs.shape[-2:])}, but s3_projector.query_hw is {self.s3_hw} and '
                                 f's4_projector.query_hw is {self.s4_hw}; set both to the grid')
        s3, s4 = self._student_map('s3'), self._student_map('s4')
        losses = {}
        for view in VIEWS:
            loss = self.view_losses[view]
            tpp = stage(self.projectors[f's3_{view}'](s3), self.s3_hw, extra)  # TPP: through the teacher
            losses[f'distill.loss_s3_{view}'] = loss(tpp, t4)
            query = tpp.flatten(2).transpose(1, 2)
            s4_tok = self.projectors[f's4_{view}'](s4, query=query)
            losses[f'distill.loss_s4_{view}'] = loss(tokens_to_map(s4_tok, self.s4_hw, 0, 's4 projection'), t4)
        if self.kd_loss is not None:
            losses['distill.loss_kd'] = self.kd_loss(self.student_recorders['logits'], self.teacher_recorders['logits'])
        return losses
