"""mmpretrain-only components (classification heads ...)."""
from .noah_head import NOAHHead
from .noah_multilabel_head import NOAHMultiLabelClsHead

__all__ = ['NOAHHead', 'NOAHMultiLabelClsHead']
