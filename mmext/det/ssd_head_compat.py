"""mmdet 3.3's ``SSDHead`` with a working ``predict``.

mmdet 3.3's ``BaseDenseHead._predict_by_feat_single`` reads ``self.loss_cls.custom_cls_channels``, but ``SSDHead``
skips ``AnchorHead.__init__`` and never defines ``loss_cls`` (its loss is hard-coded cross-entropy with hard
negative mining), so every SSD validation / test / inference call raises ``AttributeError: 'SSDHead' object has
no attribute 'loss_cls'`` (open-mmlab/mmdetection#11063, #11305, #11780; fix proposed in PR #11524, not released).
"""
from typing import Sequence

from mmdet.models.dense_heads import SSDHead
from torch import Tensor

from mmext.registry import register
from mmext.utils.input_checks import check_in_channels

__all__ = ['SSDHeadCompat']


@register('MODELS', scopes=['mmdet'])
class SSDHeadCompat(SSDHead):
    """``SSDHead`` (Liu et al., "SSD: Single Shot MultiBox Detector", ECCV 2016, arXiv 1512.02325) that can predict.

    Takes exactly ``SSDHead``'s arguments. It declares ``loss_cls = None``: SSD's loss is computed in
    ``loss_by_feat_single`` without a loss module, and the scores are a softmax, as in ``SSDHead``. The channels of
    every level are checked against ``in_channels`` at the first forward.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.loss_cls = None

    def forward(self, x: Sequence[Tensor]) -> tuple:
        """``SSDHead.forward`` after checking the channels of every level against ``in_channels`` (once)."""
        check_in_channels(self, x, self.in_channels)
        return super().forward(x)
