"""NORM ("NORM: Knowledge Distillation via N-to-One Representation Matching", Liu et al., ICLR 2023,
arXiv:2305.13803)."""
from typing import Dict, Optional

import torch
import torch.nn.functional as F
from mmengine.registry import MODELS
from torch import nn

from mmext.registry import register
from .base_distiller import BaseDistiller, ConfigLike

__all__ = ['NORMDistiller']


@register('MODELS')
class NORMDistiller(BaseDistiller):
    """The feature transform (FT) after the student's last stage, trained with the N-to-one MSE against the
    teacher's last-stage feature, folded into the classifier at export.

    The FT is applied through a forward hook on ``student_feature`` that replaces the last element of its tuple
    output by ``FT(x)`` (student code untouched), in every mode, so validation measures the student with FT,
    which equals the exported, folded student. Loss: ``gamma * CE`` (``student.*``, the CE weight is the
    student head's ``loss_weight``: 1 for ResNet-34->ResNet-18, 0.125 for ResNet-50->MobileNet in the paper)
    ``+ scale(epoch) * NORMLoss`` (``distill.loss_norm``, scaled by :class:`DistillLossWeightHook`) ``+`` an
    optional logit KD (``distill.loss_kd``, the official ``-a``, 0 in every released recipe).

    Args:
        student (dict | str | nn.Module): The student classifier config (mmpretrain ``ImageClassifier`` with a
            ``GlobalAveragePooling`` neck and a linear head, for folding).
        teacher (dict | str | nn.Module): Teacher config or config file path.
        teacher_ckpt (str): Teacher checkpoint.
        in_channels (int): Student last-stage channels ``C_s`` (512 for ResNet-18).
        teacher_channels (int): Teacher last-stage channels ``C_t`` (512 for ResNet-34, 2048 for ResNet-50).
        num_segments (int): N. Defaults to 8 (every released script).
        residual (bool): Default FT (True) or the paper's "plain FT". Defaults to True.
        student_feature (str): Module whose output's last element is the last-stage feature. Defaults to
            ``'backbone'``.
        teacher_feature (str): Same on the teacher. Defaults to ``'backbone'``.
        classifier (str): The student's linear classifier, folded at export. Defaults to ``'head.fc'``.
        norm_loss (dict): Defaults to ``dict(type='NORMLoss', loss_weight=1.0)`` (the paper's alpha, ``-b 1``).
        kd_loss (dict, optional): e.g. ``dict(type='DistillKLDivLoss', tau=4, loss_weight=...)``; runs the
            teacher's head. Defaults to None.
        logit_standardization (float, optional): The official code's undocumented trick: during training,
            logits are replaced by ``layer_norm(logits) * value`` (``--ceta 2.5``) before CE/KD. It is monotone
            per sample, so top-1 is unchanged; mmext applies it in training only, keeping exported logits exact.
            Defaults to None (off).
        **kwargs: Other :class:`BaseDistiller` arguments.
    """

    def __init__(self, student: ConfigLike, teacher: ConfigLike, teacher_ckpt: Optional[str] = None,
                 in_channels: int = 512, teacher_channels: int = 512, num_segments: int = 8,
                 residual: bool = True, student_feature: str = 'backbone', teacher_feature: str = 'backbone',
                 classifier: str = 'head.fc', norm_loss: dict = dict(type='NORMLoss', loss_weight=1.0),
                 kd_loss: Optional[dict] = None, logit_standardization: Optional[float] = None,
                 **kwargs) -> None:
        teacher_recorders = {'feat': dict(source=teacher_feature, index=-1)}
        student_recorders = {}
        if kd_loss is not None:
            teacher_recorders['logits'] = dict(source=classifier)
            student_recorders['logits'] = dict(source=classifier)
        super().__init__(student, teacher, teacher_ckpt, teacher_recorders=teacher_recorders,
                         student_recorders=student_recorders, **kwargs)
        if norm_loss.get('num_segments', num_segments) != num_segments:
            raise ValueError(f'NORMDistiller: norm_loss.num_segments ({norm_loss["num_segments"]}) must equal '
                             f'num_segments ({num_segments})')
        self.feature_transform = MODELS.build(
            dict(type='NORMFeatureTransform', in_channels=in_channels, teacher_channels=teacher_channels,
                 num_segments=num_segments, residual=residual))
        self.norm_loss = MODELS.build(dict(norm_loss, num_segments=num_segments))
        self.kd_loss = MODELS.build(kd_loss) if kd_loss is not None else None
        self.classifier = classifier
        self.logit_standardization = logit_standardization
        self._expanded: Optional[torch.Tensor] = None
        self._in_loss = False
        self._hooks = [self.student.get_submodule(student_feature).register_forward_hook(self._apply_ft)]
        if logit_standardization is not None:
            if logit_standardization <= 0:
                raise ValueError(f'logit_standardization must be > 0 or None, got {logit_standardization}')
            self._hooks.append(
                self.student.get_submodule(classifier).register_forward_hook(self._standardize_hook))

    def _apply_ft(self, module: nn.Module, args, output):
        feats = list(output) if isinstance(output, (tuple, list)) else [output]
        x = feats[-1]
        if x.dim() != 4 or x.shape[1] != self.feature_transform.in_channels:
            raise ValueError(f'NORMDistiller: the student feature must be (B, in_channels='
                             f'{self.feature_transform.in_channels}, H, W), got {tuple(x.shape)}')
        expanded = self.feature_transform.expand(x)
        if self._in_loss:
            self._expanded = expanded
        feats[-1] = self.feature_transform.reduce(expanded, x)
        return tuple(feats) if isinstance(output, (tuple, list)) else feats[0]

    def _standardize(self, logits: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(logits, logits.shape[-1:], eps=1e-7) * self.logit_standardization

    def _standardize_hook(self, module: nn.Module, args, output):
        return self._standardize(output) if self.training else output

    def network_losses(self, inputs: torch.Tensor, data_samples: Optional[list]) -> Dict[str, torch.Tensor]:
        self._in_loss = True
        try:
            return super().network_losses(inputs, data_samples)
        finally:
            self._in_loss = False

    def compute_losses(self, inputs: torch.Tensor, data_samples: Optional[list]) -> Dict[str, torch.Tensor]:
        losses = {'distill.loss_norm': self.norm_loss(self._expanded, self.teacher_recorders['feat'])}
        if self.kd_loss is not None:
            t_logits = self.teacher_recorders['logits']
            if self.logit_standardization is not None:
                t_logits = self._standardize(t_logits)
            losses['distill.loss_kd'] = self.kd_loss(self.student_recorders['logits'], t_logits)
        return losses

    def clear_records(self) -> None:
        super().clear_records()
        self._expanded = None

    def remove_hooks(self) -> None:
        super().remove_hooks()
        for handle in self._hooks:
            handle.remove()
        self._hooks.clear()

    def export_state_dict(self, network: str = 'student') -> Dict[str, torch.Tensor]:
        """The plain student's state dict with the FT folded into the classifier: ``W' = W M``, ``b' = W d + b``.

        Needs global average pooling (and nothing else) between the FT and the linear classifier.
        """
        state = super().export_state_dict(network)
        neck = getattr(self.student, 'neck', None)
        if type(neck).__name__ != 'GlobalAveragePooling':
            raise NotImplementedError(f'NORM folding needs a GlobalAveragePooling neck between the FT and the '
                                      f'classifier, got {type(neck).__name__}')
        fc = self.student.get_submodule(self.classifier)
        folded = self.feature_transform.fold_into_linear(fc)
        state[f'{self.classifier}.weight'] = folded.weight.detach().clone()
        state[f'{self.classifier}.bias'] = folded.bias.detach().clone()
        return state
