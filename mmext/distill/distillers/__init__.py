"""Distillers: the base class and the methods built on it."""
from .afdcd_distiller import AfDCDDistiller
from .base_distiller import BaseDistiller
from .dcm_distiller import DCMDistiller
from .dks_distiller import DKSDistiller
from .feature_distiller import FeatureDistiller
from .norm_distiller import NORMDistiller
from .scalekd_distiller import ScaleKDDistiller

__all__ = ['AfDCDDistiller', 'BaseDistiller', 'DCMDistiller', 'DKSDistiller', 'FeatureDistiller', 'NORMDistiller',
           'ScaleKDDistiller']
