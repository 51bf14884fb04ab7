"""A ResNet whose block convolutions come from a factory: the shared body of OD-ResNet and KW-ResNet.

The module names are torchvision's (``conv1``, ``bn1``, ``layer{i}.{j}.conv{k}``, ``downsample.{0,1}``), the
layout of the released ODConv / KernelWarehouse checkpoints, and the module registration order inside a block
(``conv1, bn1, conv2, bn2[, conv3, bn3], downsample``) is theirs too (it fixes KernelWarehouse's cell order).
"""
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Type

import torch.nn as nn
from mmengine.model import BaseModule
from torch import Tensor

from ..ops.dynamic_deform_conv import DynamicDeformConv2d
from .frozen_stages import FrozenStagesMixin

__all__ = ['DynamicBasicBlock', 'DynamicBottleneck', 'DynamicResNetBase', 'ConvFactory']

#: factory(role, in_channels, out_channels, kernel_size, stride, padding) -> conv module; role is 'conv1'..'conv3'
ConvFactory = Callable[[str, int, int, int, int, int], nn.Module]


def _drop_path(x: Tensor, p: float, training: bool) -> Tensor:
    if p == 0.0 or not training:
        return x
    keep = x.new_empty(x.shape[0], *([1] * (x.dim() - 1))).bernoulli_(1 - p)
    return x * keep / (1 - p)


def _wrap_dcn(conv: nn.Module, dcn: Optional[dict]) -> nn.Module:
    if dcn is None:
        return conv
    dcn_type = dcn.get('type', 'DCNv2')
    if dcn_type not in ('DCN', 'DCNv2'):
        raise ValueError(f"dcn['type'] must be 'DCN' or 'DCNv2' (mmdet's names), got {dcn_type!r}")
    if dcn.get('fallback_on_stride', False):
        raise ValueError('dcn fallback_on_stride=True is not supported by the dynamic ResNets')
    return DynamicDeformConv2d(conv, dcn.get('deform_groups', 1), modulated=dcn_type == 'DCNv2')


class DynamicBasicBlock(nn.Module):
    """ResNet basic block with factory-made 3x3 convs."""
    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int, downsample: Optional[nn.Module],
                 make_conv: ConvFactory, dcn: Optional[dict] = None, drop_path: float = 0.0,
                 width: Optional[int] = None) -> None:
        super().__init__()
        if dcn is not None:
            raise ValueError('dcn is only supported by the bottleneck ResNets (depth 50/101), as in mmdet')
        if width not in (None, planes):
            raise ValueError(f'the basic block has no bottleneck width; got width={width} for planes={planes}')
        self.conv1 = make_conv('conv1', inplanes, planes, 3, stride, 1)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = make_conv('conv2', planes, planes, 3, 1, 1)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.drop_path = drop_path

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(identity + _drop_path(out, self.drop_path, self.training))


class DynamicBottleneck(nn.Module):
    """ResNet bottleneck (stride on the 3x3, "pytorch" style) with factory-made convs; optional DCN 3x3.

    ``width`` is the channels of the 1x1 -> 3x3 part (``planes`` for ResNet; ResNeXt passes its grouped width).
    """
    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int, downsample: Optional[nn.Module],
                 make_conv: ConvFactory, dcn: Optional[dict] = None, drop_path: float = 0.0,
                 width: Optional[int] = None) -> None:
        super().__init__()
        width = planes if width is None else width
        self.conv1 = make_conv('conv1', inplanes, width, 1, 1, 0)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = _wrap_dcn(make_conv('conv2', width, width, 3, stride, 1), dcn)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = make_conv('conv3', width, planes * 4, 1, 1, 0)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.drop_path = drop_path

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(identity + _drop_path(out, self.drop_path, self.training))


class DynamicResNetBase(FrozenStagesMixin, BaseModule):
    """ResNet body; subclasses provide the block conv factory and the downsample conv.

    Args:
        depth (int): 18, 34, 50 or 101.
        out_indices (Sequence[int]): Stages (0-3) whose outputs are returned. Defaults to (3, ).
        frozen_stages (int): Freeze the stem (0) and stages 1..``frozen_stages``; -1 freezes nothing.
            Defaults to -1.
        norm_eval (bool): Keep every BatchNorm (the attention ones too) in eval mode in training. Defaults to False.
        dcn (dict, optional): mmdet-style ``dict(type='DCN' | 'DCNv2', deform_groups=1)`` for the bottleneck 3x3
            convs of the stages selected by ``stage_with_dcn``. Defaults to None.
        stage_with_dcn (Sequence[bool]): Defaults to (False, False, False, False).
        drop_path_rate (float): Stochastic depth of every block. Defaults to 0.
        base_channels (int): Stem / first-stage width (64 in every released model; smaller for CPU-sized
            experiments). Defaults to 64.
        init_cfg (dict | list[dict], optional): e.g. ``dict(type='Pretrained', checkpoint=...)``.
    """

    arch_settings: Dict[int, Tuple[Type[nn.Module], Tuple[int, ...]]] = {
        18: (DynamicBasicBlock, (2, 2, 2, 2)),
        34: (DynamicBasicBlock, (3, 4, 6, 3)),
        50: (DynamicBottleneck, (3, 4, 6, 3)),
        101: (DynamicBottleneck, (3, 4, 23, 3)),
    }

    def __init__(self, depth: int, out_indices: Sequence[int] = (3, ), frozen_stages: int = -1,
                 norm_eval: bool = False, dcn: Optional[dict] = None,
                 stage_with_dcn: Sequence[bool] = (False, False, False, False), drop_path_rate: float = 0.0,
                 base_channels: int = 64, init_cfg=None) -> None:
        super().__init__(init_cfg)
        if depth not in self.arch_settings:
            raise ValueError(f'{type(self).__name__}: depth must be one of {sorted(self.arch_settings)}, '
                             f'got {depth}')
        if not set(out_indices) <= {0, 1, 2, 3}:
            raise ValueError(f'{type(self).__name__}: out_indices must be in 0..3, got {out_indices}')
        if not -1 <= frozen_stages <= 4:
            raise ValueError(f'{type(self).__name__}: frozen_stages must be in -1..4, got {frozen_stages}')
        if len(stage_with_dcn) != 4:
            raise ValueError(f'stage_with_dcn needs 4 entries, got {stage_with_dcn}')
        self.depth, self.out_indices = depth, tuple(out_indices)
        self.frozen_stages, self.norm_eval = frozen_stages, norm_eval
        block, stage_blocks = self.arch_settings[depth]
        self.block = block
        base = base_channels
        self.inplanes = base
        self.conv1 = nn.Conv2d(3, base, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(base)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.res_layers: List[str] = []
        for i, n in enumerate(stage_blocks):
            layer = self._make_layer(i, base * 2**i, n, 1 if i == 0 else 2, dcn if stage_with_dcn[i] else None,
                                     drop_path_rate)
            self.add_module(f'layer{i + 1}', layer)
            self.res_layers.append(f'layer{i + 1}')
        for m in self.modules():
            if type(m) is nn.Conv2d:
                nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
        for m in self.modules():
            if isinstance(m, DynamicDeformConv2d):
                nn.init.zeros_(m.conv_offset.weight)
                nn.init.zeros_(m.conv_offset.bias)
        self.stage_channels = tuple(base * 2**i * block.expansion for i in range(4))

    @property
    def out_channels(self) -> Tuple[int, ...]:
        """Channels of each returned feature map (for necks and heads)."""
        return tuple(self.stage_channels[i] for i in self.out_indices)

    # -- hooks for subclasses ---------------------------------------------------------------------------------
    def make_downsample_conv(self, stage_idx: int, layer_idx: int, inplanes: int, outplanes: int,
                             stride: int) -> nn.Module:
        """The 1x1 conv of a downsample shortcut (plain by default)."""
        return nn.Conv2d(inplanes, outplanes, 1, stride, bias=False)

    def conv_factory(self, stage_idx: int, layer_idx: int, handover: bool) -> ConvFactory:
        raise NotImplementedError

    def bottleneck_width(self, planes: int) -> int:
        """Channels of a block's 1x1 -> 3x3 part: ``planes`` (ResNet); ResNeXt-style subclasses override it."""
        return planes

    # ----------------------------------------------------------------------------------------------------------
    def _make_layer(self, stage_idx: int, planes: int, blocks: int, stride: int, dcn: Optional[dict],
                    drop_path: float) -> nn.Sequential:
        block = self.block
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                self.make_downsample_conv(stage_idx, 0, self.inplanes, planes * block.expansion, stride),
                nn.BatchNorm2d(planes * block.expansion))
        width = self.bottleneck_width(planes)
        layers = [block(self.inplanes, planes, stride, downsample, self.conv_factory(stage_idx, 0, True), dcn,
                        drop_path, width=width)]
        self.inplanes = planes * block.expansion
        for j in range(1, blocks):
            layers.append(block(self.inplanes, planes, 1, None, self.conv_factory(stage_idx, j, False), dcn,
                                drop_path, width=width))
        return nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        outs = []
        for i, name in enumerate(self.res_layers):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def frozen_modules(self) -> List[nn.Module]:
        """Modules frozen by ``frozen_stages``."""
        mods: List[nn.Module] = []
        if self.frozen_stages >= 0:
            mods += [self.conv1, self.bn1]
        for i in range(1, self.frozen_stages + 1):
            mods.append(getattr(self, f'layer{i}'))
        return mods
