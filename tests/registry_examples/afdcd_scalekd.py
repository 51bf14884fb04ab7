"""Registry examples: Af-DCD and ScaleKD (losses, projectors, distillers, the gradient-clipping hook)."""
from typing import Callable, Dict

from tests.test_distill.afdcd_scalekd_helpers import tiny_resnet_student, tiny_segmentor, tiny_swin

#: registered name -> function(tiny_shapes_root) -> config dict (with ``type``)
EXAMPLES: Dict[str, Callable[[str], dict]] = {
    'OmniContrastiveLoss': lambda root: dict(type='OmniContrastiveLoss', tau=0.07, num_groups=16),
    'DCTHighPassMSELoss': lambda root: dict(type='DCTHighPassMSELoss', loss_weight=0.06),
    'SoftCrossEntropyKDLoss': lambda root: dict(type='SoftCrossEntropyKDLoss', tau=1.0, loss_weight=0.5),
    'ModuleGradClipHook': lambda root: dict(type='ModuleGradClipHook'),
    'MaskedFeatureProjector': lambda root: dict(type='MaskedFeatureProjector', in_channels=8, out_channels=16),
    'CrossAttentionProjector': lambda root: dict(type='CrossAttentionProjector', student_channels=8,
                                                 teacher_channels=16, student_hw=(2, 2), query_hw=(4, 4),
                                                 num_heads=2),
    'AfDCDDistiller': lambda root: dict(
        type='AfDCDDistiller', student=tiny_segmentor(width=8, scope='mmseg'),
        teacher=tiny_segmentor(width=16, aux=False, scope='mmseg'), allow_random_teacher=True,
        student_channels=64, teacher_channels=128),
    'ScaleKDDistiller': lambda root: dict(
        type='ScaleKDDistiller', student=tiny_resnet_student(scope='mmpretrain'),
        teacher=tiny_swin(scope='mmpretrain'), allow_random_teacher=True,
        s3_projector=dict(student_channels=32, teacher_channels=64, student_hw=(4, 4), query_hw=(4, 4),
                          num_heads=2),
        s4_projector=dict(student_channels=64, teacher_channels=128, student_hw=(2, 2), query_hw=(2, 2),
                          num_heads=4)),
}
