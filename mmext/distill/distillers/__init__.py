"""Distillers: the base class and the methods built on it."""
from .base_distiller import BaseDistiller
from .dcm_distiller import DCMDistiller
from .dks_distiller import DKSDistiller
from .feature_distiller import FeatureDistiller
from .norm_distiller import NORMDistiller

__all__ = ['BaseDistiller', 'DCMDistiller', 'DKSDistiller', 'FeatureDistiller', 'NORMDistiller']
