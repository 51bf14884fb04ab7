"""A ResNet whose block convolutions come from a factory: the shared body of OD-ResNet and KW-ResNet.

The module names are torchvision's (``conv1``, ``bn1``, ``layer{i}.{j}.conv{k}``, ``downsample.{0,1}``), the
layout of the released ODConv / KernelWarehouse checkpoints, and the module registration order inside a block
(``conv1, bn1, conv2, bn2[, conv3, bn3], downsample``) is theirs too (it fixes KernelWarehouse's cell order).

The constructor takes the interface of mmdet's / mmseg's / mmpretrain's ``ResNet`` (``num_stages``, ``strides``,
``dilations``, ``style``, ``deep_stem`` / ``avg_down`` for the V1c / V1d variants, ``norm_cfg``, ``with_cp``,
``multi_grid``, ``contract_dilation``, the deprecated ``pretrained`` ...), so a stock config works with only
``type`` changed; see :class:`DynamicResNetBase`.
"""
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Type, Union

import torch.nn as nn
from mmengine.model import BaseModule
from torch import Tensor
from torch.utils.checkpoint import checkpoint

from ..ops.dynamic_deform_conv import DynamicDeformConv2d
from .frozen_stages import FrozenStagesMixin
from .upstream_args import (check_choice, check_conv_cfg, check_int, check_no_plugins, check_norm_cfg,
                            check_stage_tuple, make_norm, resolve_pretrained)

__all__ = ['DynamicBasicBlock', 'DynamicBottleneck', 'DynamicResNetBase', 'ConvFactory']

#: factory(role, in_channels, out_channels, kernel_size, stride, padding, dilation) -> conv module; role is
#: 'conv1'..'conv3'
ConvFactory = Callable[[str, int, int, int, int, int, int], nn.Module]
#: num_features -> norm layer (built from the backbone's ``norm_cfg``)
NormFactory = Callable[[int], nn.Module]


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


class _Block(nn.Module):
    """Shared forward of the dynamic residual blocks, with mmdet's ``with_cp`` (activation checkpointing)."""

    with_cp: bool = False
    drop_path: float = 0.0

    def _residual(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def forward(self, x: Tensor) -> Tensor:

        def inner(x: Tensor) -> Tensor:
            identity = x if self.downsample is None else self.downsample(x)
            out = _drop_path(self._residual(x), self.drop_path, self.training)
            out += identity  # in place, as mmcv's/torchvision's blocks (a new 56x56 map costs its page faults)
            return out

        if self.with_cp and x.requires_grad:
            out = checkpoint(inner, x, use_reentrant=False)
        else:
            out = inner(x)
        return self.relu(out)


class DynamicBasicBlock(_Block):
    """ResNet basic block with factory-made 3x3 convs (dilation on the first one, as in mmdet/mmseg)."""
    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int, downsample: Optional[nn.Module],
                 make_conv: ConvFactory, dcn: Optional[dict] = None, drop_path: float = 0.0, dilation: int = 1,
                 style: str = 'pytorch', norm: NormFactory = nn.BatchNorm2d, with_cp: bool = False,
                 width: Optional[int] = None) -> None:
        super().__init__()
        if dcn is not None:
            raise ValueError('dcn is only supported by the bottleneck ResNets (depth 50/101), as in mmdet')
        if width not in (None, planes):
            raise ValueError(f'the basic block has no bottleneck width; got width={width} for planes={planes}')
        self.conv1 = make_conv('conv1', inplanes, planes, 3, stride, dilation, dilation)
        self.bn1 = norm(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = make_conv('conv2', planes, planes, 3, 1, 1, 1)
        self.bn2 = norm(planes)
        self.downsample = downsample
        self.drop_path, self.with_cp = drop_path, with_cp

    @property
    def last_norm(self) -> nn.Module:
        return self.bn2

    def _residual(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        return self.bn2(self.conv2(out))


class DynamicBottleneck(_Block):
    """ResNet bottleneck with factory-made convs; optional DCN 3x3.

    ``style='pytorch'`` puts the stride on the 3x3 conv, ``'caffe'`` on the first 1x1 (mmdet's meaning); the
    dilation is on the 3x3 conv.

    ``width`` is the channels of the 1x1 -> 3x3 part (``planes`` for ResNet; ResNeXt passes its grouped width).
    """
    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int, downsample: Optional[nn.Module],
                 make_conv: ConvFactory, dcn: Optional[dict] = None, drop_path: float = 0.0, dilation: int = 1,
                 style: str = 'pytorch', norm: NormFactory = nn.BatchNorm2d, with_cp: bool = False,
                 width: Optional[int] = None) -> None:
        super().__init__()
        width = planes if width is None else width
        s1, s2 = (1, stride) if style == 'pytorch' else (stride, 1)
        self.conv1 = make_conv('conv1', inplanes, width, 1, s1, 0, 1)
        self.bn1 = norm(width)
        self.conv2 = _wrap_dcn(make_conv('conv2', width, width, 3, s2, dilation, dilation), dcn)
        self.bn2 = norm(width)
        self.conv3 = make_conv('conv3', width, planes * 4, 1, 1, 0, 1)
        self.bn3 = norm(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.drop_path, self.with_cp = drop_path, with_cp

    @property
    def last_norm(self) -> nn.Module:
        return self.bn3

    def _residual(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.bn3(self.conv3(out))


class DynamicResNetBase(FrozenStagesMixin, BaseModule):
    """ResNet body with the upstream ResNet interface; subclasses provide the block convs.

    The arguments mean what they mean in mmdet 3.x / mmseg 1.x / mmpretrain 1.x ``ResNet``; ``ResNetV1c`` is
    ``deep_stem=True`` and ``ResNetV1d`` is ``deep_stem=True, avg_down=True``.

    Args:
        depth (int): 18, 34, 50 or 101.
        in_channels (int): Input image channels. Defaults to 3.
        stem_channels (int, optional): Stem width; None means ``base_channels``. Defaults to None.
        base_channels (int): First-stage width (64 in every released model; smaller for CPU-sized
            experiments). Defaults to 64.
        num_stages (int): 1..4 stages. Defaults to 4.
        strides (Sequence[int]): Stride of the first block of each stage. Defaults to (1, 2, 2, 2).
        dilations (Sequence[int]): Dilation of each stage (mmseg's ``-d8`` models: strides (1, 2, 1, 1),
            dilations (1, 1, 2, 4)). Defaults to (1, 1, 1, 1).
        out_indices (Sequence[int]): Stages whose outputs are returned. Defaults to (3, ).
        style (str): ``'pytorch'`` (stride on the bottleneck 3x3, the released models) or ``'caffe'`` (on the
            first 1x1). Defaults to ``'pytorch'``.
        deep_stem (bool): Three 3x3 convs (``stem``) instead of the 7x7 ``conv1``. Defaults to False.
        avg_down (bool): AvgPool then a stride-1 1x1 conv in the strided shortcuts. Defaults to False.
        frozen_stages (int): Freeze the stem (0) and stages 1..``frozen_stages``; -1 freezes nothing.
            Defaults to -1.
        conv_cfg (dict, optional): Only None / ``dict(type='Conv2d')``: the block convs are the dynamic ones.
        norm_cfg (dict): Norm of the stem, blocks and shortcuts (``BN``, ``SyncBN``, ``GN`` ..., with
            ``requires_grad``); the attention trunks keep their own norm. Defaults to ``dict(type='BN',
            requires_grad=True)``.
        norm_eval (bool): Keep every BatchNorm (the attention ones too) in eval mode in training. Defaults to False.
        dcn (dict, optional): mmdet-style ``dict(type='DCN' | 'DCNv2', deform_groups=1)`` for the bottleneck 3x3
            convs of the stages selected by ``stage_with_dcn``. Defaults to None.
        stage_with_dcn (Sequence[bool]): Defaults to (False, False, False, False).
        plugins (list, optional): Only None (no plugin positions in the dynamic blocks).
        multi_grid (Sequence[int], optional): mmseg's per-block dilation of the last stage. Defaults to None.
        contract_dilation (bool): mmseg's halving of the first block's dilation of each dilated stage.
            Defaults to False.
        with_cp (bool): Activation checkpointing per block. Defaults to False.
        zero_init_residual (bool): Zero the last norm's weight in each block. Defaults to False (the released
            code's init; upstream's default is True).
        expansion (int, optional): mmpretrain's argument; only None or the block's own (1 or 4).
        drop_path_rate (float): Stochastic depth of every block. Defaults to 0.
        pretrained (str, optional): Deprecated; as in mmseg it becomes ``init_cfg=dict(type='Pretrained',
            checkpoint=pretrained)`` with a warning. Defaults to None.
        init_cfg (dict | list[dict], optional): e.g. ``dict(type='Pretrained', checkpoint=...)``.
    """

    arch_settings: Dict[int, Tuple[Type[nn.Module], Tuple[int, ...]]] = {
        18: (DynamicBasicBlock, (2, 2, 2, 2)),
        34: (DynamicBasicBlock, (3, 4, 6, 3)),
        50: (DynamicBottleneck, (3, 4, 6, 3)),
        101: (DynamicBottleneck, (3, 4, 23, 3)),
    }

    def __init__(self,
                 depth: int,
                 in_channels: int = 3,
                 stem_channels: Optional[int] = None,
                 base_channels: int = 64,
                 num_stages: int = 4,
                 strides: Sequence[int] = (1, 2, 2, 2),
                 dilations: Sequence[int] = (1, 1, 1, 1),
                 out_indices: Sequence[int] = (3, ),
                 style: str = 'pytorch',
                 deep_stem: bool = False,
                 avg_down: bool = False,
                 frozen_stages: int = -1,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN', requires_grad=True),
                 norm_eval: bool = False,
                 dcn: Optional[dict] = None,
                 stage_with_dcn: Sequence[bool] = (False, False, False, False),
                 plugins: Optional[list] = None,
                 multi_grid: Optional[Sequence[int]] = None,
                 contract_dilation: bool = False,
                 with_cp: bool = False,
                 zero_init_residual: bool = False,
                 expansion: Optional[int] = None,
                 drop_path_rate: float = 0.0,
                 pretrained: Optional[str] = None,
                 init_cfg: Union[dict, List[dict], None] = None) -> None:
        owner = type(self).__name__
        super().__init__(resolve_pretrained(owner, pretrained, init_cfg))
        self.pretrained = pretrained
        check_int(owner, 'depth', depth, self.arch_settings)
        num_stages = check_int(owner, 'num_stages', num_stages, range(1, 5))
        strides = check_stage_tuple(owner, 'strides', strides, num_stages)
        dilations = check_stage_tuple(owner, 'dilations', dilations, num_stages)
        if not set(out_indices) <= set(range(num_stages)):
            raise ValueError(f'{owner}: out_indices must be in 0..{num_stages - 1} (num_stages={num_stages}), '
                             f'got {out_indices}')
        if not -1 <= frozen_stages <= num_stages:
            raise ValueError(f'{owner}: frozen_stages must be in -1..{num_stages}, got {frozen_stages}')
        check_choice(owner, 'style', style, ('pytorch', 'caffe'))
        check_conv_cfg(owner, conv_cfg)
        check_no_plugins(owner, plugins)
        if len(stage_with_dcn) < num_stages:
            raise ValueError(f'{owner}: stage_with_dcn needs {num_stages} entries, got {stage_with_dcn}')
        block, stage_blocks = self.arch_settings[depth]
        if expansion is not None and expansion != block.expansion:
            raise ValueError(f'{owner}: expansion={expansion} cannot be honoured for depth {depth} (its block '
                             f'expansion is {block.expansion}); use expansion=None')
        stage_blocks = stage_blocks[:num_stages]
        if multi_grid is not None and len(multi_grid) != stage_blocks[-1]:
            raise ValueError(f'{owner}: multi_grid needs one dilation per block of the last stage '
                             f'({stage_blocks[-1]}), got {multi_grid}')
        self.depth, self.out_indices, self.num_stages = depth, tuple(out_indices), num_stages
        self.strides, self.dilations, self.style = strides, dilations, style
        self.deep_stem, self.avg_down, self.with_cp = deep_stem, avg_down, with_cp
        self.frozen_stages, self.norm_eval = frozen_stages, norm_eval
        self.norm_cfg = check_norm_cfg(owner, norm_cfg)
        self.multi_grid, self.contract_dilation = multi_grid, contract_dilation
        self.block = block
        base = base_channels
        stem = base if stem_channels is None else stem_channels
        self._make_stem(in_channels, stem)
        self.inplanes = stem
        self.res_layers: List[str] = []
        for i, n in enumerate(stage_blocks):
            layer = self._make_layer(i, base * 2**i, n, strides[i], dcn if stage_with_dcn[i] else None,
                                     drop_path_rate, dilations[i], multi_grid if i == num_stages - 1 else None)
            self.add_module(f'layer{i + 1}', layer)
            self.res_layers.append(f'layer{i + 1}')
        for m in self.modules():
            if type(m) is nn.Conv2d:
                nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
        for m in self.modules():
            if isinstance(m, DynamicDeformConv2d):
                nn.init.zeros_(m.conv_offset.weight)
                nn.init.zeros_(m.conv_offset.bias)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, _Block) and getattr(m.last_norm, 'weight', None) is not None:
                    nn.init.zeros_(m.last_norm.weight)
        self.stage_channels = tuple(base * 2**i * block.expansion for i in range(num_stages))

    @property
    def out_channels(self) -> Tuple[int, ...]:
        """Channels of each returned feature map (for necks and heads), in output (stage) order."""
        return tuple(c for i, c in enumerate(self.stage_channels) if i in self.out_indices)

    def _norm(self, num_features: int) -> nn.Module:
        return make_norm(self.norm_cfg, num_features)

    def _make_stem(self, in_channels: int, stem: int) -> None:
        if self.deep_stem:  # ResNetV1c / V1d, mmdet's module layout
            half = stem // 2
            self.stem = nn.Sequential(
                nn.Conv2d(in_channels, half, 3, 2, 1, bias=False), self._norm(half), nn.ReLU(inplace=True),
                nn.Conv2d(half, half, 3, 1, 1, bias=False), self._norm(half), nn.ReLU(inplace=True),
                nn.Conv2d(half, stem, 3, 1, 1, bias=False), self._norm(stem), nn.ReLU(inplace=True))
        else:
            self.conv1 = nn.Conv2d(in_channels, stem, 7, 2, 3, bias=False)
            self.bn1 = self._norm(stem)
            self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)

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
                    drop_path: float, dilation: int = 1,
                    multi_grid: Optional[Sequence[int]] = None) -> nn.Sequential:
        block = self.block
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            conv_stride = 1 if self.avg_down else stride
            parts: List[nn.Module] = []
            if self.avg_down and stride != 1:
                parts.append(nn.AvgPool2d(stride, stride, ceil_mode=True, count_include_pad=False))
            parts += [self.make_downsample_conv(stage_idx, 0, self.inplanes, planes * block.expansion, conv_stride),
                      self._norm(planes * block.expansion)]
            downsample = nn.Sequential(*parts)
        if multi_grid is not None:
            block_dilations = list(multi_grid)
        else:
            first = dilation // 2 if dilation > 1 and self.contract_dilation else dilation
            block_dilations = [first] + [dilation] * (blocks - 1)
        kw = dict(style=self.style, norm=self._norm, with_cp=self.with_cp, width=self.bottleneck_width(planes))
        layers = [block(self.inplanes, planes, stride, downsample, self.conv_factory(stage_idx, 0, True), dcn,
                        drop_path, block_dilations[0], **kw)]
        self.inplanes = planes * block.expansion
        for j in range(1, blocks):
            layers.append(block(self.inplanes, planes, 1, None, self.conv_factory(stage_idx, j, False), dcn,
                                drop_path, block_dilations[j], **kw))
        return nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        x = self.stem(x) if self.deep_stem else self.relu(self.bn1(self.conv1(x)))
        x = self.maxpool(x)
        outs = []
        for i, name in enumerate(self.res_layers):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def reset_static_convs(self) -> None:
        """Give the plain ``nn.Conv2d`` layers (stem, plain shortcuts; not attention or offset convs) PyTorch's init.

        The backbones' ``conv_init='pytorch'``: ``nn.Conv2d``'s default (kaiming-uniform, a = sqrt(5), fan-in)
        instead of the kaiming fan-out init that the releases use.
        """
        for name, m in self.named_modules():
            if type(m) is nn.Conv2d and 'attention' not in name and not name.endswith('conv_offset'):
                m.reset_parameters()

    def frozen_modules(self) -> List[nn.Module]:
        """Modules frozen by ``frozen_stages``."""
        mods: List[nn.Module] = []
        if self.frozen_stages >= 0:
            mods += [self.stem] if self.deep_stem else [self.conv1, self.bn1]
        for i in range(1, self.frozen_stages + 1):
            mods.append(getattr(self, f'layer{i}'))
        return mods
