"""Knowledge distillation: the distiller core and the methods on top of it."""

from .connectors import DistillConvConnector, NORMFeatureTransform, ResNetAuxClassifier
from .distillers import (BaseDistiller, DCMDistiller, DKSDistiller, FeatureDistiller,
                         NORMDistiller)
from .losses import DistillKLDivLoss, DistillMSELoss, NORMLoss, PairwiseKLLoss
from .recorder import FeatureRecorder, RecorderGroup
from .teacher import FrozenTeacher, build_frozen_teacher, build_model_from_cfg

__all__ = ['BaseDistiller', 'DCMDistiller', 'DKSDistiller', 'DistillConvConnector', 'DistillKLDivLoss',
            'DistillMSELoss', 'FeatureDistiller', 'FeatureRecorder', 'FrozenTeacher', 'NORMDistiller',
            'NORMFeatureTransform', 'NORMLoss', 'PairwiseKLLoss', 'RecorderGroup', 'ResNetAuxClassifier',
            'build_frozen_teacher', 'build_model_from_cfg']
