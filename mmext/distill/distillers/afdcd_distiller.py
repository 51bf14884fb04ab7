"""Af-DCD ("Augmentation-free Dense Contrastive Knowledge Distillation for Efficient Semantic Segmentation", Fan et
al., NeurIPS 2023, arXiv:2312.04168) for mmseg segmentors."""
from typing import Dict, Optional

import torch
from mmengine.registry import MODELS

from mmext.registry import register
from ..connectors import resize_to
from .base_distiller import BaseDistiller, ConfigLike

__all__ = ['AfDCDDistiller']


@register('MODELS')
class AfDCDDistiller(BaseDistiller):
    """Af-DCD: masked feature mimicking and the omni-contrastive loss on the backbone's last stage (``c4``, output
    stride 8), plus pixel-wise logit KD on the 1/8-resolution logits.

    Student ``c4`` (``backbone`` output ``feature_index``) goes through :class:`MaskedFeatureProjector` (1x1 align,
    75 % random spatial mask, 3x3-ReLU-3x3 projector). Its output is compared with the teacher's ``c4`` by
    ``fd_loss`` (``lambda_fd * sum((p - t)**2) / B``, MGD) and ``contrastive_loss`` (the omni-contrastive InfoNCE,
    ``lambda_ctr``); the two are bound to the same projector, as in the release. ``kd_loss`` is a per-pixel KL at
    T = 1 between the decode heads' logits before upsampling (``decode_head.conv_seg`` outputs), averaged over
    pixels (the release's ``batchmean`` over ``B*H*W`` rows). The student's own losses (CE + 0.4 auxiliary FCN CE
    for ResNet students) come from its config. Loss keys: ``distill.loss_fd``, ``distill.loss_ctr``,
    ``distill.loss_kd``. The release clips the gradient norm of the loss module (align + projector) at 15, which
    is ``module_grad_clip=dict(modules=['projector'], max_norm=15)``, set by default here.

    Any of the three terms can be switched off (None) for ablations: ``kd_loss`` alone is logit KD, ``fd_loss``
    alone is MGD-style mimicking; ``contrastive_loss`` needs the projector, hence ``fd_loss`` or ``projector``.

    Args:
        student (dict | str | nn.Module): The student segmentor (mmseg ``EncoderDecoder``).
        teacher (dict | str | nn.Module): The teacher segmentor config or config file path.
        teacher_ckpt (str): Teacher checkpoint.
        student_channels (int): Student ``c4`` channels (512 for ResNet-18, 320 for MobileNetV2).
        teacher_channels (int): Teacher ``c4`` channels (2048 for ResNet-101).
        projector (dict): :class:`MaskedFeatureProjector` options besides the channels. Defaults to
            ``dict(mask_ratio=0.75, random_mask=True, enhanced=False)``.
        fd_loss (dict, optional): Defaults to ``DistillMSELoss(reduction='batch_sum', loss_weight=2e-6)``
            (Cityscapes).
        contrastive_loss (dict, optional): Defaults to ``OmniContrastiveLoss(tau=0.07, num_groups=16,
            patch_size=(4, 4), pool_size=4, loss_weight=0.005)`` (Cityscapes).
        kd_loss (dict, optional): Defaults to ``DistillKLDivLoss(tau=1, loss_weight=1)``.
        feature_index (int): Index of ``c4`` in the backbone outputs of both models. Defaults to -1.
        logits_source (str): The module whose output is the 1/8 logits. Defaults to ``'decode_head.conv_seg'``.
        module_grad_clip (dict, optional): Defaults to ``dict(modules=['projector'], max_norm=15, norm_type=2)``
            when there is a projector.
        **kwargs: Other :class:`BaseDistiller` arguments.
    """

    def __init__(self, student: ConfigLike, teacher: ConfigLike, teacher_ckpt: Optional[str] = None,
                 student_channels: int = 512, teacher_channels: int = 2048,
                 projector: dict = dict(mask_ratio=0.75, random_mask=True, enhanced=False),
                 fd_loss: Optional[dict] = dict(type='DistillMSELoss', reduction='batch_sum', loss_weight=2e-6),
                 contrastive_loss: Optional[dict] = dict(type='OmniContrastiveLoss', tau=0.07, num_groups=16,
                                                         patch_size=(4, 4), pool_size=4, loss_weight=0.005),
                 kd_loss: Optional[dict] = dict(type='DistillKLDivLoss', tau=1.0, loss_weight=1.0),
                 feature_index: int = -1, logits_source: str = 'decode_head.conv_seg',
                 module_grad_clip: Optional[dict] = 'default', **kwargs) -> None:
        if fd_loss is None and contrastive_loss is None and kd_loss is None:
            raise ValueError('AfDCDDistiller: fd_loss, contrastive_loss and kd_loss are all None; keep one')
        use_feature = fd_loss is not None or contrastive_loss is not None
        teacher_rec, student_rec = {}, {}
        if use_feature:
            teacher_rec['c4'] = student_rec['c4'] = dict(source='backbone', index=feature_index)
        if kd_loss is not None:
            teacher_rec['logits'] = student_rec['logits'] = dict(source=logits_source)
        if module_grad_clip == 'default':
            module_grad_clip = dict(modules=['projector'], max_norm=15, norm_type=2) if use_feature else None
        super().__init__(student, teacher, teacher_ckpt, teacher_recorders=teacher_rec,
                         student_recorders=student_rec, module_grad_clip=module_grad_clip, **kwargs)
        if use_feature:
            proj = dict(projector)
            proj.pop('type', None)
            self.projector = MODELS.build(dict(type='MaskedFeatureProjector', in_channels=student_channels,
                                               out_channels=teacher_channels, **proj))
        self.fd_loss = MODELS.build(fd_loss) if fd_loss is not None else None
        self.contrastive_loss = MODELS.build(contrastive_loss) if contrastive_loss is not None else None
        self.kd_loss = MODELS.build(kd_loss) if kd_loss is not None else None

    def compute_losses(self, inputs: torch.Tensor, data_samples: Optional[list]) -> Dict[str, torch.Tensor]:
        losses = {}
        if self.fd_loss is not None or self.contrastive_loss is not None:
            s, t = self.student_recorders['c4'], self.teacher_recorders['c4']
            s = resize_to(s, t.shape[-2:])
            new_fea = self.projector(s)
            if new_fea.shape != t.shape:
                raise ValueError(f'AfDCDDistiller: projected student c4 {tuple(new_fea.shape)} does not match the '
                                 f'teacher c4 {tuple(t.shape)}; check teacher_channels')
            if self.fd_loss is not None:
                losses['distill.loss_fd'] = self.fd_loss(new_fea, t)
            if self.contrastive_loss is not None:
                losses['distill.loss_ctr'] = self.contrastive_loss(new_fea, t)
        if self.kd_loss is not None:
            s, t = self.student_recorders['logits'], self.teacher_recorders['logits']
            losses['distill.loss_kd'] = self.kd_loss(resize_to(s, t.shape[-2:]), t)
        return losses
