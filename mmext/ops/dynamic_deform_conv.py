"""Deformable sampling for the per-sample dynamic convolutions (ODConv2d, KWConv2d).

The kernel is still the per-sample dynamic kernel; the sampling positions come from a plain offset conv, and the
convolution is mmcv's modulated deformable convolution run grouped over the batch
(:func:`~mmext.ops.dynamic_conv.dynamic_conv2d`). This is how the OD-/KW-ResNet backbones honour mmdet's
``dcn=dict(type='DCN' | 'DCNv2', deform_groups=1)`` and ``stage_with_dcn``.
"""
import torch
import torch.nn as nn
from torch import Tensor

__all__ = ['DynamicDeformConv2d']


class DynamicDeformConv2d(nn.Module):
    """Wrap a dynamic conv (``ODConv2d`` or ``KWConv2d``) with learned offsets (and masks for DCNv2).

    Args:
        conv (nn.Module): The dynamic conv; its ``forward(x, offset, mask, deform_groups)`` is used.
        deform_groups (int): Deformable groups. Defaults to 1.
        modulated (bool): True for DCNv2 (sigmoid mask predicted), False for DCN (unit mask). Defaults to True.

    ``conv_offset`` is zero-initialised, so training starts from the regular grid (and mask 0.5 for DCNv2, like
    mmcv's ``ModulatedDeformConv2dPack``).
    """

    def __init__(self, conv: nn.Module, deform_groups: int = 1, modulated: bool = True) -> None:
        super().__init__()
        self.conv = conv
        self.deform_groups, self.modulated = deform_groups, modulated
        kh, kw = conv.kernel_size if isinstance(conv.kernel_size, tuple) else (conv.kernel_size, ) * 2
        per_tap = 3 if modulated else 2
        self.conv_offset = nn.Conv2d(conv.in_channels, deform_groups * per_tap * kh * kw, (kh, kw), conv.stride,
                                     conv.padding, conv.dilation, bias=True)
        nn.init.zeros_(self.conv_offset.weight)
        nn.init.zeros_(self.conv_offset.bias)

    def forward(self, x: Tensor) -> Tensor:
        out = self.conv_offset(x)
        if self.modulated:
            o1, o2, mask = torch.chunk(out, 3, dim=1)
            offset, mask = torch.cat((o1, o2), dim=1), torch.sigmoid(mask)
        else:
            offset, mask = out, None
        return self.conv(x, offset=offset, mask=mask, deform_groups=self.deform_groups)
