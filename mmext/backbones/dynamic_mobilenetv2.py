"""A MobileNetV2 whose convolutions come from a factory: the shared body of OD- and KW-MobileNetV2.

Module names are those of the released ODConv / KernelWarehouse models (torchvision layout: ``features.{i}``,
``features.{i}.conv.{j}``), so their checkpoints convert by prefix only.
"""
from typing import Callable, List, Optional, Sequence, Tuple

import torch.nn as nn
from mmengine.model import BaseModule
from torch import Tensor

from .frozen_stages import FrozenStagesMixin
from .upstream_args import check_conv_cfg, check_norm_cfg, resolve_pretrained

__all__ = ['make_divisible', 'DynamicInvertedResidual', 'DynamicMobileNetV2Base', 'MBV2ConvFactory']

#: factory(name, in, out, kernel_size, stride, groups) -> conv; name is 'stage{s}_layer{l}_{pwconv0|dwconv0|pwconv1}'
MBV2ConvFactory = Callable[[str, int, int, int, int, int], nn.Module]

#: t, c, n, s of MobileNetV2
SETTINGS: Tuple[Tuple[int, int, int, int], ...] = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                                                    (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))
#: the released KernelWarehouse stage of each setting row (stage 0 is the stem)
KW_STAGES: Tuple[int, ...] = (1, 2, 3, 4, 5, 6, 6)


def make_divisible(v: float, divisor: int = 8) -> int:
    """Round ``v`` to a multiple of ``divisor``, not going down by more than 10% (the TF MobileNet rule)."""
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


class _ConvBNReLU(nn.Sequential):

    def __init__(self, conv: nn.Module, out_channels: int) -> None:
        super().__init__(conv, nn.BatchNorm2d(out_channels), nn.ReLU6(inplace=True))


class DynamicInvertedResidual(nn.Module):
    """Inverted residual: [pw expand] -> dw 3x3 -> pw linear, each from the factory."""

    def __init__(self, inp: int, oup: int, stride: int, expand_ratio: int, make_conv: MBV2ConvFactory,
                 prefix: str) -> None:
        super().__init__()
        hidden = int(round(inp * expand_ratio))
        self.use_res_connect = stride == 1 and inp == oup
        layers: List[nn.Module] = []
        if expand_ratio != 1:
            layers.append(_ConvBNReLU(make_conv(f'{prefix}_pwconv0', inp, hidden, 1, 1, 1), hidden))
        layers += [
            _ConvBNReLU(make_conv(f'{prefix}_dwconv0', hidden, hidden, 3, stride, hidden), hidden),
            make_conv(f'{prefix}_pwconv1', hidden, oup, 1, 1, 1),
            nn.BatchNorm2d(oup)
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class DynamicMobileNetV2Base(FrozenStagesMixin, BaseModule):
    """MobileNetV2 body (``features``); subclasses provide ``make_stem`` and the conv factory.

    Args:
        widen_factor (float): Width multiplier (0.5, 0.75, 1.0 ...). Defaults to 1.0.
        out_indices (Sequence[int]): 0..6 are the seven inverted-residual groups, 7 the final 1x1 conv (1280
            channels), as in mmpretrain/mmdet's MobileNetV2. Defaults to (7, ).
        frozen_stages (int): Freeze the stem (0) and groups 1..n (8: also the final conv). -1: nothing.
            Defaults to -1.
        norm_eval (bool): Keep all BatchNorms in eval mode in training. Defaults to False.
        conv_cfg, norm_cfg, act_cfg, with_cp, strides, dilations, pretrained: the upstream ``MobileNetV2``
            interface (mmdet / mmseg / mmpretrain). Honoured: ``norm_cfg=dict(type='BN', eps=..., momentum=...,
            requires_grad=...)`` for the block norms (the attention norms keep their own), ``pretrained`` as mmseg
            handles it, and the default values of the others. Rejected with an error naming the argument:
            another conv or activation type, another norm type (for SyncBN set ``sync_bn='torch'`` in the config,
            which converts every BatchNorm), ``with_cp=True``, and strides / dilations other than MobileNetV2's.
        init_cfg (dict, optional): e.g. ``dict(type='Pretrained', checkpoint=...)``.
    """

    def __init__(self, widen_factor: float = 1.0, out_indices: Sequence[int] = (7, ), frozen_stages: int = -1,
                 norm_eval: bool = False, conv_cfg: Optional[dict] = None, norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='ReLU6'), with_cp: bool = False, strides: Optional[Sequence[int]] = None,
                 dilations: Optional[Sequence[int]] = None, pretrained: Optional[str] = None, init_cfg=None) -> None:
        owner = type(self).__name__
        super().__init__(resolve_pretrained(owner, pretrained, init_cfg))
        self.pretrained = pretrained
        norm_cfg = self._check_upstream_args(owner, conv_cfg, norm_cfg, act_cfg, with_cp, strides, dilations)
        if not set(out_indices) <= set(range(8)):
            raise ValueError(f'{type(self).__name__}: out_indices must be in 0..7, got {out_indices}')
        if not -1 <= frozen_stages <= 8:
            raise ValueError(f'{type(self).__name__}: frozen_stages must be in -1..8, got {frozen_stages}')
        self.widen_factor, self.out_indices = widen_factor, tuple(out_indices)
        self.frozen_stages, self.norm_eval = frozen_stages, norm_eval
        cin = make_divisible(32 * widen_factor)
        last = make_divisible(1280 * max(1.0, widen_factor))
        features: List[nn.Module] = [self.make_stem(cin)]
        self.stage_ends: List[int] = []
        channels: List[int] = []
        layer_idx = 0
        for gi, (t, c, n, s) in enumerate(SETTINGS):
            cout = make_divisible(c * widen_factor)
            for i in range(n):
                handover = i == 0 and gi > 0 and KW_STAGES[gi] != KW_STAGES[gi - 1]
                stage = KW_STAGES[gi] - 1 if handover else KW_STAGES[gi]
                features.append(DynamicInvertedResidual(cin, cout, s if i == 0 else 1, t, self.conv_factory(),
                                                        f'stage{stage}_layer{layer_idx}'))
                cin = cout
                layer_idx = 0 if handover else layer_idx + 1
            self.stage_ends.append(len(features) - 1)
            channels.append(cout)
        make = self.conv_factory()
        features.append(_ConvBNReLU(make(f'stage{KW_STAGES[-1]}_layer{layer_idx}_pwconv1', cin, last, 1, 1, 1),
                                    last))
        self.stage_ends.append(len(features) - 1)
        channels.append(last)
        self.features = nn.Sequential(*features)
        self.stage_channels = tuple(channels)
        for m in self.modules():
            if type(m) is nn.Conv2d:
                nn.init.kaiming_normal_(m.weight, mode='fan_out')
        for name, m in self.named_modules():  # the block norms, as norm_cfg asks
            if type(m) is nn.BatchNorm2d and 'attention' not in name:
                m.eps = norm_cfg.get('eps', m.eps)
                m.momentum = norm_cfg.get('momentum', m.momentum)
                for p in m.parameters():
                    p.requires_grad = norm_cfg.get('requires_grad', True)

    @staticmethod
    def _check_upstream_args(owner: str, conv_cfg, norm_cfg, act_cfg, with_cp, strides, dilations) -> dict:
        check_conv_cfg(owner, conv_cfg)
        norm_cfg = check_norm_cfg(owner, norm_cfg)
        if norm_cfg['type'] not in ('BN', 'BN2d') or set(norm_cfg) - {'type', 'eps', 'momentum', 'requires_grad'}:
            raise ValueError(f"{owner}: norm_cfg={norm_cfg!r} cannot be honoured: only dict(type='BN', eps=..., "
                             f"momentum=..., requires_grad=...); for SyncBN set sync_bn='torch' in the config")
        if not isinstance(act_cfg, dict) or act_cfg.get('type') != 'ReLU6' or set(act_cfg) - {'type', 'inplace'}:
            raise ValueError(f"{owner}: act_cfg={act_cfg!r} cannot be honoured: the blocks use ReLU6 "
                             f"(act_cfg=dict(type='ReLU6'))")
        if with_cp:
            raise ValueError(f'{owner}: with_cp=True cannot be honoured (no activation checkpointing in the '
                             f'dynamic MobileNetV2 blocks); use with_cp=False')
        default_strides = tuple(s for _, _, _, s in SETTINGS)
        if strides is not None and tuple(strides) != default_strides:
            raise ValueError(f'{owner}: strides={tuple(strides)} cannot be honoured: only MobileNetV2\'s '
                             f'{default_strides}')
        if dilations is not None and set(dilations) != {1}:
            raise ValueError(f'{owner}: dilations={tuple(dilations)} cannot be honoured: only 1 in every group')
        return norm_cfg

    @property
    def out_channels(self) -> Tuple[int, ...]:
        """Channels of each returned feature map."""
        return tuple(self.stage_channels[i] for i in self.out_indices)

    def make_stem(self, out_channels: int) -> nn.Module:
        raise NotImplementedError

    def conv_factory(self) -> MBV2ConvFactory:
        raise NotImplementedError

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        outs = []
        ends = {e: i for i, e in enumerate(self.stage_ends)}
        for idx, layer in enumerate(self.features):
            x = layer(x)
            if idx in ends and ends[idx] in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def frozen_modules(self) -> List[nn.Module]:
        if self.frozen_stages < 0:
            return []
        end = 0 if self.frozen_stages == 0 else self.stage_ends[self.frozen_stages - 1]
        return [self.features[i] for i in range(end + 1)]
