"""Registry examples: the distillation core, NORM, DKS and DCM, and the loss-weight schedule hook."""
from typing import Callable, Dict

from tests.test_distill.helpers import aux_heads, tiny_classifier


def _student() -> dict:
    return tiny_classifier(scope='mmpretrain')  # `_scope_` lets a classifier student build from any scope


def _teacher() -> dict:
    return tiny_classifier(depth=34, width=16, scope='mmpretrain')


#: registered name -> function(tiny_shapes_root) -> config dict (with ``type``)
EXAMPLES: Dict[str, Callable[[str], dict]] = {
    'DistillKLDivLoss': lambda root: dict(type='DistillKLDivLoss', tau=4.0),
    'DistillMSELoss': lambda root: dict(type='DistillMSELoss'),
    'NORMLoss': lambda root: dict(type='NORMLoss', num_segments=8),
    'PairwiseKLLoss': lambda root: dict(type='PairwiseKLLoss'),
    'DistillConvConnector': lambda root: dict(type='DistillConvConnector', in_channels=8, out_channels=16),
    'NORMFeatureTransform': lambda root: dict(type='NORMFeatureTransform', in_channels=8, teacher_channels=16),
    'ResNetAuxClassifier': lambda root: dict(type='ResNetAuxClassifier', in_channels=8, num_classes=5,
                                             stages=[(16, 1, 2)]),
    'FeatureDistiller': lambda root: dict(
        type='FeatureDistiller', student=_student(), teacher=_teacher(), allow_random_teacher=True,
        distill_cfgs=[dict(name='kd', student=dict(source='head.fc'), teacher=dict(source='head.fc'),
                           loss=dict(type='DistillKLDivLoss'))]),
    'NORMDistiller': lambda root: dict(type='NORMDistiller', student=_student(), teacher=_teacher(),
                                       allow_random_teacher=True, in_channels=64, teacher_channels=128),
    'DKSDistiller': lambda root: dict(type='DKSDistiller', student=_student(), aux_heads=aux_heads()),
    'DCMDistiller': lambda root: dict(type='DCMDistiller', student=_student(), peer=_student(),
                                      student_aux_heads=aux_heads(), peer_aux_heads=aux_heads()[:1]),
    'DistillLossWeightHook': lambda root: dict(type='DistillLossWeightHook', milestones=[5, 15, 60, 80],
                                               values=[0.1, 0.5, 0.9, 0.5, 0.1]),
}
