"""mmdet-only components (necks, dense heads, RoI heads, detectors ...)."""
from .cas_attribute_head import CASAttributeHead
from .cas_semantic_head import CASSemanticHead
from .casnet import CASNet
from .ron_anchor_generator import RONAnchorGenerator
from .ron_head import RONHead
from .ron_neck import RONNeck
from .ssd_head_compat import SSDHeadCompat

__all__ = ['CASAttributeHead', 'CASNet', 'CASSemanticHead', 'RONAnchorGenerator', 'RONHead', 'RONNeck', 'SSDHeadCompat']
