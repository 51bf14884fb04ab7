"""OD-MobileNetV2: MobileNetV2 x0.5/0.75/1.0 with ODConv everywhere but the stem.

Chao Li, Aojun Zhou, Anbang Yao. "Omni-Dimensional Dynamic Convolution", ICLR 2022, arXiv 2209.07947.
As released (``models/od_mobilenetv2.py``): the pw-expand, the depthwise 3x3 (no filter attention), the pw-linear
and the last 1x1 conv are ``ODConv2d``; the stem 3x3 conv stays plain. Published 1000-class counts: x1.0 1x 4.94M,
4x 11.51M; x0.75 1x 3.51M, 4x 7.50M; x0.5 1x 2.43M, 4x 4.44M.
"""
from typing import Sequence

import torch.nn as nn

from ..ops.odconv import ODConv2d
from ..registry import register
from .dynamic_mobilenetv2 import DynamicMobileNetV2Base, MBV2ConvFactory

__all__ = ['ODMobileNetV2']


@register('MODELS')
class ODMobileNetV2(DynamicMobileNetV2Base):
    """MobileNetV2 backbone with omni-dimensional dynamic convolutions.

    Args:
        widen_factor (float): 0.5, 0.75 or 1.0 in the paper. Defaults to 1.0.
        kernel_num (int): K. Defaults to 1.
        reduction (float): Attention reduction. Defaults to 0.0625.
        attention_norm (str): ``'BN'`` or ``'none'``. Defaults to ``'BN'``.
        **kwargs: The upstream MobileNetV2 interface (``conv_cfg``, ``norm_cfg`` incl. SyncBN, ``act_cfg``,
            ``with_cp``, mmseg's ``strides`` / ``dilations``, ``pretrained``), see
            :class:`~mmext.backbones.dynamic_mobilenetv2.DynamicMobileNetV2Base`.
        out_indices, frozen_stages, norm_eval, init_cfg: See
            :class:`~mmext.backbones.dynamic_mobilenetv2.DynamicMobileNetV2Base`. Defaults: (7,), -1, False, None.
    """

    def __init__(self, widen_factor: float = 1.0, kernel_num: int = 1, reduction: float = 0.0625,
                 attention_norm: str = 'BN', out_indices: Sequence[int] = (7, ), frozen_stages: int = -1,
                 norm_eval: bool = False, init_cfg=None, **kwargs) -> None:
        self.kernel_num, self.reduction, self.attention_norm = kernel_num, reduction, attention_norm
        super().__init__(widen_factor, out_indices, frozen_stages, norm_eval, init_cfg=init_cfg, **kwargs)
        self._freeze_stages()

    def make_stem(self, out_channels: int) -> nn.Module:
        return self.conv_norm_act(nn.Conv2d(3, out_channels, 3, 2, 1, bias=False), out_channels)

    def conv_factory(self) -> MBV2ConvFactory:

        def make(name: str, cin: int, cout: int, k: int, stride: int, groups: int, dilation: int) -> ODConv2d:
            return ODConv2d(cin, cout, k, stride, dilation * (k - 1) // 2, dilation, groups=groups,
                            reduction=self.reduction, kernel_num=self.kernel_num, norm=self.attention_norm)

        return make
