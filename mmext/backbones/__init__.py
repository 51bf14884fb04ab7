"""Task-agnostic backbones, registered into mmdet, mmseg and mmpretrain."""
from .cifar_wide_resnet import CifarWideResNet
from .frozen_stages import FrozenStagesMixin
from .hbonet import HBONet
from .kw_convnext import KWConvNeXt
from .kw_mobilenetv2 import KWMobileNetV2
from .kw_resnet import KWResNet, KWResNetV1c, KWResNetV1d
from .od_mobilenetv2 import ODMobileNetV2
from .od_resnet import ODResNet, ODResNetV1c, ODResNetV1d
from .ps_resnet import PSResNet, PSResNeXt
from .ron_vgg import RONVGG, convert_vgg_to_ronvgg

__all__ = [
    'CifarWideResNet', 'FrozenStagesMixin', 'HBONet', 'KWConvNeXt', 'KWMobileNetV2', 'KWResNet', 'KWResNetV1c',
    'KWResNetV1d', 'ODMobileNetV2', 'ODResNet', 'ODResNetV1c', 'ODResNetV1d', 'PSResNet', 'PSResNeXt', 'RONVGG',
    'convert_vgg_to_ronvgg'
]
