"""OD-ResNet: ResNet-18/34/50/101 with ODConv in every block conv.

Chao Li, Aojun Zhou, Anbang Yao. "Omni-Dimensional Dynamic Convolution", ICLR 2022, arXiv 2209.07947.
As released (``models/od_resnet.py``): the 3x3 convs and the bottleneck 1x1 convs are ``ODConv2d``; the 7x7 stem
and the downsample 1x1 conv stay plain. Published ImageNet classifiers (1000 classes): OD-R18 1x 11.94M, 4x 44.90M;
OD-R34 1x 21.98M (unverified here), OD-R50 1x 28.64M, 4x 90.67M; OD-R101 1x 50.82M, 2x 90.44M.
"""
import torch.nn as nn

from ..ops.odconv import ODConv2d
from ..registry import register
from .dynamic_resnet import ConvFactory, DynamicResNetBase

__all__ = ['ODResNet', 'ODResNetV1c', 'ODResNetV1d']


@register('MODELS')
class ODResNet(DynamicResNetBase):
    """ResNet backbone with omni-dimensional dynamic convolutions.

    Args:
        depth (int): 18, 34, 50 or 101.
        kernel_num (int): K kernels per ODConv ("1x", "2x", "4x"). Defaults to 1.
        reduction (float): Attention reduction. Defaults to 0.0625.
        attention_norm (str): Attention trunk norm, ``'BN'`` (trains at batch 1 too) or ``'none'``.
            Defaults to ``'BN'``.
        conv_init (str): ``'kaiming_fan_out'`` (the released code: every kernel, and the static stem and
            downsample convs, kaiming-normal fan-out) or ``'pytorch'`` (``nn.Conv2d``'s default for all of them;
            see ``ODConv2d``'s ``weight_init``). Defaults to ``'kaiming_fan_out'``.
        **kwargs: The upstream ResNet interface (``num_stages``, ``strides``, ``dilations``, ``style``,
            ``deep_stem``, ``avg_down``, ``out_indices``, ``frozen_stages``, ``norm_cfg``, ``norm_eval``, ``dcn``,
            ``stage_with_dcn``, ``with_cp``, ``pretrained``, ``init_cfg`` ...) plus ``base_channels`` and
            ``drop_path_rate``: see :class:`~mmext.backbones.dynamic_resnet.DynamicResNetBase`.

    Example:
        >>> backbone = ODResNet(depth=50, kernel_num=4, out_indices=(0, 1, 2, 3), frozen_stages=1,
        ...                     norm_eval=True, init_cfg=dict(type='Pretrained', checkpoint='od_r50_4x.pth'))
    """

    def __init__(self, depth: int, kernel_num: int = 1, reduction: float = 0.0625, attention_norm: str = 'BN',
                 conv_init: str = 'kaiming_fan_out', **kwargs) -> None:
        if conv_init not in ODConv2d.WEIGHT_INITS:
            raise ValueError(f'ODResNet: conv_init must be one of {ODConv2d.WEIGHT_INITS}, got {conv_init!r}')
        self.kernel_num, self.reduction, self.attention_norm = kernel_num, reduction, attention_norm
        self.conv_init = conv_init
        super().__init__(depth, **kwargs)
        if conv_init == 'pytorch':
            self.reset_static_convs()
        self._freeze_stages()

    def conv_factory(self, stage_idx: int, layer_idx: int, handover: bool) -> ConvFactory:

        def make(role: str, cin: int, cout: int, k: int, stride: int, padding: int, dilation: int = 1) -> ODConv2d:
            return ODConv2d(cin, cout, k, stride, padding, dilation, reduction=self.reduction,
                            kernel_num=self.kernel_num, norm=self.attention_norm, weight_init=self.conv_init)

        return make


@register('MODELS')
class ODResNetV1c(ODResNet):
    """OD-ResNet with the V1c stem (three 3x3 convs): the drop-in for mmdet's / mmseg's ``ResNetV1c``.

    Same arguments as :class:`ODResNet`; ``deep_stem=True, avg_down=False`` as upstream.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(deep_stem=True, avg_down=False, **kwargs)


@register('MODELS')
class ODResNetV1d(ODResNet):
    """OD-ResNet-V1d (V1c stem and AvgPool shortcuts): the drop-in for ``ResNetV1d``.

    Same arguments as :class:`ODResNet`; ``deep_stem=True, avg_down=True`` as upstream.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(deep_stem=True, avg_down=True, **kwargs)
