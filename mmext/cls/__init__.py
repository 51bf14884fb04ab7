"""mmpretrain-only components (classification heads ...)."""
from .noah_head import NOAHHead
from .noah_multilabel_head import NOAHMultiLabelClsHead
from .kw_linear_head import KWLinearClsHead

__all__ = ['NOAHHead', 'NOAHMultiLabelClsHead', 'KWLinearClsHead']
