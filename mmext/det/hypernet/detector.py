"""HyperNet: a two-stage detector on one Hyper Feature shared by the proposal and detection modules.

Paper: Kong, Yao, Chen, Sun, "HyperNet: Towards Accurate Region Proposal Generation and Joint Object Detection",
CVPR 2016, arXiv:1604.00600.
"""
from typing import List, Tuple

from mmdet.models.detectors import TwoStageDetector

from ...registry import register

__all__ = ['HyperNet']


@register('MODELS', scopes=['mmdet'])
class HyperNet(TwoStageDetector):
    """mmdet's :class:`TwoStageDetector` with HyperNet's modules and a check of the channels between them.

    backbone (e.g. ``RONVGG(fc_type=None, out_names=('conv1_2', 'conv3_3', 'conv5_3'))``) ->
    :class:`~mmext.det.HyperFeatureNeck` -> :class:`~mmext.det.HyperNetRPNHead` (``conv_before_pool=True`` for
    HyperNet-SP) and ``StandardRoIHead`` with :class:`~mmext.det.RoIPoolExtractor` and
    :class:`~mmext.det.HyperNetBBoxHead`. Training is joint (end to end): the proposal and detection losses are
    summed and every step trains both modules on the shared features (mmdet's approximate joint training; the
    proposals are not differentiated). Same arguments as :class:`TwoStageDetector`.

    Raises:
        ValueError: if the channels or strides of backbone, neck, proposal module, RoI extractor and box head do
            not agree; the message names both numbers.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._check_channels()

    def _check_channels(self) -> None:
        pairs: List[Tuple[str, object, str, object]] = []
        if hasattr(self.backbone, 'out_channels') and hasattr(self.neck, 'in_channels'):
            pairs.append(('backbone.out_channels', tuple(self.backbone.out_channels), 'neck.in_channels',
                          tuple(self.neck.in_channels)))
        neck_out = getattr(self.neck, 'out_channels', None)
        if neck_out is not None:
            if self.with_rpn and hasattr(self.rpn_head, 'in_channels'):
                pairs.append(('neck.out_channels', neck_out, 'rpn_head.in_channels', self.rpn_head.in_channels))
            if self.with_roi_head:
                pairs.append(('neck.out_channels', neck_out, 'roi_head.bbox_roi_extractor.out_channels',
                              self.roi_head.bbox_roi_extractor.out_channels))
        if self.with_roi_head:
            pairs.append(('roi_head.bbox_roi_extractor.out_channels', self.roi_head.bbox_roi_extractor.out_channels,
                          'roi_head.bbox_head.in_channels', self.roi_head.bbox_head.in_channels))
        out_stride = getattr(self.neck, 'out_stride', None)
        if out_stride is not None:
            if self.with_rpn and hasattr(self.rpn_head, 'featmap_stride'):
                pairs.append(('neck.out_stride', out_stride, 'rpn_head.featmap_stride', self.rpn_head.featmap_stride))
            if self.with_roi_head:
                pairs.append(('neck.out_stride', out_stride, 'roi_head.bbox_roi_extractor.featmap_strides',
                              self.roi_head.bbox_roi_extractor.featmap_strides[0]))
        for name_a, a, name_b, b in pairs:
            if a != b:
                raise ValueError(f'HyperNet: {name_a}={a} but {name_b}={b}; they must be equal')
