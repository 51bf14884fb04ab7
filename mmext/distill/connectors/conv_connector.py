"""A projection connector: 1x1 conv (+ BN) to the teacher's channels, optionally resized to its size."""
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import nn

from mmext.registry import register
from mmext.utils.input_checks import check_in_channels

__all__ = ['DistillConvConnector', 'resize_to']


def resize_to(x: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """Bilinearly resize a 4-D map to ``size`` (no-op when it already matches)."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=tuple(size), mode='bilinear', align_corners=False)


@register('MODELS')
class DistillConvConnector(BaseModule):
    """Aligns a student feature to the teacher's channels: ``Conv1x1(C_s -> C_t)`` then optional BN.

    Args:
        in_channels (int): Student channels.
        out_channels (int): Teacher channels.
        with_norm (bool): Add a BatchNorm after the conv. Defaults to True.
        init_cfg (dict, optional): Initialisation config. Defaults to Kaiming for the conv.
    """

    def __init__(self, in_channels: int, out_channels: int, with_norm: bool = True,
                 init_cfg: Optional[dict] = dict(type='Kaiming', layer='Conv2d')) -> None:
        super().__init__(init_cfg=init_cfg)
        if in_channels <= 0 or out_channels <= 0:
            raise ValueError(f'DistillConvConnector: in_channels and out_channels must be > 0, got '
                             f'{in_channels} and {out_channels}')
        self.in_channels = in_channels
        self.conv = nn.Conv2d(in_channels, out_channels, 1, bias=not with_norm)
        self.norm = nn.BatchNorm2d(out_channels) if with_norm else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_in_channels(self, x, self.in_channels)
        return self.norm(self.conv(x))
