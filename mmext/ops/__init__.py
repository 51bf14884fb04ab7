"""Convolution operators as plain nn.Modules (ODConv, KernelWarehouse, PSConv, sparse conv ...)."""

from .dynamic_conv import (AttentionBatchNorm1d, AttentionBatchNorm2d,
                           build_attention_norm, dynamic_conv2d)
from .dynamic_deform_conv import DynamicDeformConv2d
from .kernel_warehouse import KWAttention, KWConv2d, KWLayerBase, KWLinear
from .odconv import ODConv2d, ODConvAttention
from .psconv import PSConv2d, PSGConv2d, psconv_dilation_map, psconv_mask
from .sparse import (SGCSubMConv3d, SparseTensor, SpConv3d, SpConvTranspose3d, SpInverseConv3d, SpMaxPool3d,
                     SpSubMConv3d)
from .warehouse_manager import WarehouseManager

__all__ = [
    'AttentionBatchNorm1d', 'AttentionBatchNorm2d', 'build_attention_norm', 'dynamic_conv2d', 'DynamicDeformConv2d',
    'KWAttention', 'KWConv2d', 'KWLayerBase', 'KWLinear', 'ODConv2d', 'ODConvAttention', 'PSConv2d', 'PSGConv2d',
    'psconv_dilation_map', 'psconv_mask', 'WarehouseManager', 'SGCSubMConv3d', 'SparseTensor', 'SpConv3d',
    'SpConvTranspose3d', 'SpInverseConv3d', 'SpMaxPool3d', 'SpSubMConv3d'
]
