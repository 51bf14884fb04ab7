"""mmdet-only components (necks, dense heads, RoI heads, detectors ...)."""
from .ron_anchor_generator import RONAnchorGenerator
from .ron_head import RONHead
from .ron_neck import RONNeck

__all__ = ['RONAnchorGenerator', 'RONHead', 'RONNeck']
