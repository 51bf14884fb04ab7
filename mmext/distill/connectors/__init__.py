"""Connectors and auxiliary modules that live in the distiller and are dropped (or folded) at export."""
from .aux_classifier import ResNetAuxClassifier
from .conv_connector import DistillConvConnector, resize_to
from .cross_attention_projector import CrossAttentionProjector
from .masked_feature_projector import MaskedFeatureProjector
from .norm_feature_transform import NORMFeatureTransform

__all__ = ['CrossAttentionProjector', 'DistillConvConnector', 'MaskedFeatureProjector', 'NORMFeatureTransform',
           'ResNetAuxClassifier', 'resize_to']
