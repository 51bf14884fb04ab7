"""Knowledge distillation: the distiller core and the methods on top of it."""

from .connectors import (CrossAttentionProjector, DistillConvConnector, MaskedFeatureProjector,
                         NORMFeatureTransform, ResNetAuxClassifier)
from .distillers import (AfDCDDistiller, BaseDistiller, DCMDistiller, DKSDistiller, FeatureDistiller,
                         NORMDistiller, ScaleKDDistiller)
from .losses import (DCTHighPassMSELoss, DistillKLDivLoss, DistillMSELoss, NORMLoss, OmniContrastiveLoss,
                     PairwiseKLLoss, SoftCrossEntropyKDLoss)
from .recorder import FeatureRecorder, RecorderGroup
from .teacher import FrozenTeacher, build_frozen_teacher, build_model_from_cfg

__all__ = [
    'AfDCDDistiller', 'BaseDistiller', 'CrossAttentionProjector', 'DCMDistiller', 'DCTHighPassMSELoss',
    'DKSDistiller', 'DistillConvConnector', 'DistillKLDivLoss', 'DistillMSELoss', 'FeatureDistiller',
    'FeatureRecorder', 'FrozenTeacher', 'MaskedFeatureProjector', 'NORMDistiller', 'NORMFeatureTransform',
    'NORMLoss', 'OmniContrastiveLoss', 'PairwiseKLLoss', 'RecorderGroup', 'ResNetAuxClassifier',
    'ScaleKDDistiller', 'SoftCrossEntropyKDLoss', 'build_frozen_teacher', 'build_model_from_cfg'
]
