"""A single-level RoI extractor whose ``RoIPool`` also runs on a CPU.

mmcv 2.1's ``RoIPool`` has CUDA / MLU / NPU kernels only. HyperNet (Kong et al., "HyperNet: Towards Accurate
Region Proposal Generation and Joint Object Detection", CVPR 2016, arXiv:1604.00600) pools 13x13 RoI features with
Fast R-CNN's RoI max pooling, so :class:`RoIPoolExtractor` maps ``roi_layer=dict(type='RoIPool', ...)`` onto
``torchvision.ops.RoIPool`` (CPU and CUDA kernels, the same Caffe quantisation: rounded box corners, inclusive
end, bins of ``floor``/``ceil`` extent) and builds every other type from ``mmcv.ops`` like mmdet does.
"""
from typing import List, Optional, Tuple

import torch.nn as nn
from torch import Tensor
from torch.nn.modules.utils import _pair
from mmdet.models.roi_heads.roi_extractors import SingleRoIExtractor
from torchvision.ops import RoIPool as TVRoIPool

from ...registry import register

__all__ = ['RoIPoolExtractor']


@register('MODELS', scopes=['mmdet'])
class RoIPoolExtractor(SingleRoIExtractor):
    """mmdet's :class:`SingleRoIExtractor` with a device-independent ``RoIPool``.

    With one feature level it also skips the zero-filled output buffer mmdet allocates before pooling (a third of
    the pooling time for the ~30k initial boxes of HyperNet's proposal module on a CPU).

    Same arguments as :class:`~mmdet.models.roi_heads.roi_extractors.SingleRoIExtractor`. ``roi_layer`` of type
    ``'RoIPool'`` (``output_size``) is built from torchvision; ``'RoIAlign'`` and the other mmcv ops as usual.
    """

    def build_roi_layers(self, layer_cfg: dict, featmap_strides: List[int]) -> nn.ModuleList:
        if layer_cfg.get('type') == 'RoIPool':
            cfg = dict(layer_cfg)
            cfg.pop('type')
            cfg['output_size'] = _pair(cfg['output_size'])  # SingleRoIExtractor unpacks it
            return nn.ModuleList([TVRoIPool(spatial_scale=1 / s, **cfg) for s in featmap_strides])
        return super().build_roi_layers(layer_cfg, featmap_strides)

    def forward(self, feats: Tuple[Tensor], rois: Tensor, roi_scale_factor: Optional[float] = None) -> Tensor:
        if len(feats) == 1 and len(rois) and roi_scale_factor is None:
            return self.roi_layers[0](feats[0], rois.type_as(feats[0]))
        return super().forward(feats, rois, roi_scale_factor)
