"""Wide Residual Networks for 32x32 inputs (CIFAR): WRN-d-k.

Paper: Sergey Zagoruyko and Nikos Komodakis, "Wide Residual Networks", BMVC 2016, arXiv:1605.07146.
Architecture (the paper's Table 1 and the authors' code): a 3x3 stem conv with 16 channels, three groups of
``n = (d - 4) / 6`` pre-activation basic blocks (BN-ReLU-conv3x3-BN-ReLU-[dropout]-conv3x3) with widths
``16k, 32k, 64k`` and strides 1, 2, 2, then a final BN-ReLU. A block whose shape changes adds a 1x1 projection of
its activated input to the residual; convs have no bias. The classifier (global average pooling + linear) is the
mmpretrain neck/head.
"""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule

from ..registry import register
from .frozen_stages import FrozenStagesMixin
from .upstream_args import check_int

__all__ = ['CifarWideResNet', 'WideBasicBlock', 'make_wide_layer']


class WideBasicBlock(nn.Module):
    """Pre-activation basic block of WRN: ``x + conv2(drop(relu(bn2(conv1(relu(bn1(x)))))))``.

    When the stride or the width changes, the shortcut is a bias-free 1x1 conv applied to ``relu(bn1(x))``.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        stride (int): Stride of the first 3x3 conv (and of the projection). Defaults to 1.
        drop_rate (float): Dropout probability between the two convs (the paper uses 0.3). Defaults to 0.
        norm_cfg (dict): Norm layer config. Defaults to ``dict(type='BN')``.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, drop_rate: float = 0.0,
                 norm_cfg: dict = dict(type='BN')) -> None:
        super().__init__()
        if not 0.0 <= drop_rate < 1.0:
            raise ValueError(f'WideBasicBlock: drop_rate must be in [0, 1), got {drop_rate}')
        self.norm1 = build_norm_layer(norm_cfg, in_channels)[1]
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.norm2 = build_norm_layer(norm_cfg, out_channels)[1]
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.relu = nn.ReLU(inplace=True)
        self.drop = nn.Dropout(drop_rate) if drop_rate > 0 else nn.Identity()
        self.shortcut: Optional[nn.Module] = None
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Conv2d(in_channels, out_channels, 1, stride, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        act = self.relu(self.norm1(x))
        out = self.conv2(self.drop(self.relu(self.norm2(self.conv1(act)))))
        return out + (self.shortcut(act) if self.shortcut is not None else x)


def make_wide_layer(in_channels: int, out_channels: int, num_blocks: int, stride: int, drop_rate: float = 0.0,
                    norm_cfg: dict = dict(type='BN')) -> nn.Sequential:
    """A WRN group: ``num_blocks`` :class:`WideBasicBlock`s, the first one carrying ``stride``."""
    if num_blocks < 1:
        raise ValueError(f'make_wide_layer: num_blocks must be >= 1, got {num_blocks}')
    return nn.Sequential(*[
        WideBasicBlock(in_channels if i == 0 else out_channels, out_channels, stride if i == 0 else 1, drop_rate,
                       norm_cfg) for i in range(num_blocks)
    ])


@register('MODELS')
class CifarWideResNet(FrozenStagesMixin, BaseModule):
    """WRN-d-k for CIFAR-sized inputs ("Wide Residual Networks", BMVC 2016, arXiv:1605.07146).

    Modules: ``conv1`` (stem, 16 channels), ``layer1``/``layer2``/``layer3`` (the paper's groups conv2/3/4, the
    DKS code's group0/1/2; widths ``16k, 32k, 64k``, strides 1, 2, 2) and ``norm`` + ReLU after ``layer3``.
    Output ``i`` is ``layer{i+1}``'s output; the last one (index 2) is taken after the final BN-ReLU, the feature
    the classifier pools. Outputs 0 and 1 are the raw (pre-activation) group outputs, which the next group's
    first block normalises itself. ``out_channels`` lists ``(16k, 32k, 64k)``. A 32x32 input gives 32x32,
    16x16 and 8x8 maps.

    Args:
        depth (int): d, with ``(d - 4) % 6 == 0`` and d >= 10. Defaults to 28.
        widen_factor (int): k. Defaults to 10 (WRN-28-10).
        drop_rate (float): Dropout between the two convs of every block (0.3 in the paper's dropout runs).
            Defaults to 0.
        in_channels (int): Input channels. Defaults to 3.
        out_indices (Sequence[int]): Which of the 3 outputs to return (negative indices allowed). Defaults to
            (2, ).
        frozen_stages (int): -1 freezes nothing, 0 the stem, i in 1..3 the stem and layer1..layer i (3 also the
            final norm). Defaults to -1.
        norm_cfg (dict): Norm layer config. Defaults to ``dict(type='BN')``.
        norm_eval (bool): Keep norm layers in eval mode while training. Defaults to False.
        init_cfg (dict | list[dict], optional): Defaults to Kaiming-normal convs (fan-out, ReLU gain: std
            ``sqrt(2 / (9 * out_channels))``, as the RepDistiller/NORM WRN code) and norms with weight 1, bias 0.
    """

    def __init__(self,
                 depth: int = 28,
                 widen_factor: int = 10,
                 drop_rate: float = 0.0,
                 in_channels: int = 3,
                 out_indices: Sequence[int] = (2, ),
                 frozen_stages: int = -1,
                 norm_cfg: dict = dict(type='BN'),
                 norm_eval: bool = False,
                 init_cfg=[
                     dict(type='Kaiming', layer='Conv2d', mode='fan_out', nonlinearity='relu'),
                     dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])
                 ]) -> None:
        super().__init__(init_cfg=init_cfg)
        check_int('CifarWideResNet', 'depth', depth)
        if depth < 10 or (depth - 4) % 6:
            raise ValueError(f'CifarWideResNet: depth must be 6n + 4 with n >= 1 (10, 16, 22, 28, 40, ...), '
                             f'got {depth}')
        if not isinstance(widen_factor, int) or widen_factor < 1:
            raise ValueError(f'CifarWideResNet: widen_factor must be a positive int, got {widen_factor}')
        if not 0.0 <= drop_rate < 1.0:
            raise ValueError(f'CifarWideResNet: drop_rate must be in [0, 1), got {drop_rate}')
        out_indices = tuple(i + 3 if i < 0 else i for i in out_indices)
        if not out_indices or any(i not in range(3) for i in out_indices):
            raise ValueError(f'CifarWideResNet: out_indices must be a non-empty subset of 0..2 (or -3..-1), '
                             f'got {out_indices}')
        if frozen_stages not in range(-1, 4):
            raise ValueError(f'CifarWideResNet: frozen_stages must be in -1..3, got {frozen_stages}')
        self.depth = depth
        self.widen_factor = widen_factor
        self.num_blocks = (depth - 4) // 6
        self.out_indices = out_indices
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        widths = (16 * widen_factor, 32 * widen_factor, 64 * widen_factor)
        self.out_channels: Tuple[int, ...] = widths
        self.conv1 = nn.Conv2d(in_channels, 16, 3, 1, 1, bias=False)
        channels = 16
        for i, (width, stride) in enumerate(zip(widths, (1, 2, 2))):
            self.add_module(f'layer{i + 1}',
                            make_wide_layer(channels, width, self.num_blocks, stride, drop_rate, norm_cfg))
            channels = width
        self.norm = build_norm_layer(norm_cfg, channels)[1]
        self.relu = nn.ReLU(inplace=True)
        self._freeze_stages()

    def frozen_modules(self) -> List[nn.Module]:
        if self.frozen_stages < 0:
            return []
        mods: List[nn.Module] = [self.conv1]
        mods += [getattr(self, f'layer{i}') for i in range(1, self.frozen_stages + 1)]
        if self.frozen_stages == 3:
            mods.append(self.norm)
        return mods

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        x = self.conv1(x)
        outs = []
        for i in range(3):
            x = getattr(self, f'layer{i + 1}')(x)
            if i == 2:
                x = self.relu(self.norm(x))
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)
