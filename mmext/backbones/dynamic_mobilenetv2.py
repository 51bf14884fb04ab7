"""A MobileNetV2 whose convolutions come from a factory: the shared body of OD- and KW-MobileNetV2.

Module names are those of the released ODConv / KernelWarehouse models (torchvision layout: ``features.{i}``,
``features.{i}.conv.{j}``), so their checkpoints convert by prefix only.
"""
from typing import Callable, List, Optional, Sequence, Tuple

import torch.nn as nn
import torch.utils.checkpoint as cp
from mmcv.cnn import build_activation_layer
from mmengine.model import BaseModule
from torch import Tensor

from .frozen_stages import FrozenStagesMixin
from .upstream_args import check_conv_cfg, check_norm_cfg, check_stage_tuple, make_norm, resolve_pretrained

__all__ = ['make_divisible', 'DynamicInvertedResidual', 'DynamicMobileNetV2Base', 'MBV2ConvFactory']

#: factory(name, in, out, kernel_size, stride, groups, dilation) -> conv;
#: name is 'stage{s}_layer{l}_{pwconv0|dwconv0|pwconv1}'
MBV2ConvFactory = Callable[[str, int, int, int, int, int, int], nn.Module]

#: t, c, n, s of MobileNetV2
SETTINGS: Tuple[Tuple[int, int, int, int], ...] = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                                                    (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))
#: the released KernelWarehouse stage of each setting row (stage 0 is the stem)
KW_STAGES: Tuple[int, ...] = (1, 2, 3, 4, 5, 6, 6)


def make_divisible(v: float, divisor: int = 8) -> int:
    """Round ``v`` to a multiple of ``divisor``, not going down by more than 10% (the TF MobileNet rule)."""
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


#: activations that mmcv's ConvModule builds without ``inplace`` (they take no such argument)
_NO_INPLACE = ('Tanh', 'PReLU', 'Sigmoid', 'HSigmoid', 'Swish', 'GELU')


class ConvNormAct(nn.Sequential):
    """``conv -> norm [-> act]`` with indices 0/1/2, the layout of the released checkpoints.

    Args:
        conv (nn.Module): The (dynamic or plain) convolution.
        out_channels (int): Its output channels.
        norm_cfg (dict): mmcv norm config (``BN``, ``SyncBN``, ``GN`` ...).
        act_cfg (dict, optional): mmcv activation config; None: no activation.
    """

    def __init__(self, conv: nn.Module, out_channels: int, norm_cfg: dict, act_cfg: Optional[dict]) -> None:
        layers = [conv, make_norm(norm_cfg, out_channels)]
        if act_cfg is not None:
            act_cfg = dict(act_cfg)
            if act_cfg['type'] not in _NO_INPLACE:  # in place after the norm, as mmcv's ConvModule does
                act_cfg.setdefault('inplace', True)
            layers.append(build_activation_layer(act_cfg))
        super().__init__(*layers)


class DynamicInvertedResidual(nn.Module):
    """Inverted residual: [pw expand] -> dw 3x3 -> pw linear, each from the factory.

    Args:
        inp, oup (int): Input / output channels.
        stride (int): Stride of the depthwise conv.
        expand_ratio (int): Hidden channels = ``round(inp * expand_ratio)``.
        make_conv (MBV2ConvFactory): Builds each conv.
        prefix (str): ``stage{s}_layer{l}`` (the released warehouse names).
        norm_cfg (dict): Norm of every conv. Defaults to ``dict(type='BN')``.
        act_cfg (dict): Activation after the pw-expand and dw convs. Defaults to ``dict(type='ReLU6')``.
        dilation (int): Dilation (and padding) of the depthwise conv. Defaults to 1.
        with_cp (bool): Recompute the block in backward (``torch.utils.checkpoint``). Defaults to False.
    """

    def __init__(self, inp: int, oup: int, stride: int, expand_ratio: int, make_conv: MBV2ConvFactory,
                 prefix: str, norm_cfg: dict = dict(type='BN'), act_cfg: dict = dict(type='ReLU6'),
                 dilation: int = 1, with_cp: bool = False) -> None:
        super().__init__()
        hidden = int(round(inp * expand_ratio))
        self.use_res_connect = stride == 1 and inp == oup
        self.with_cp = with_cp
        layers: List[nn.Module] = []
        if expand_ratio != 1:
            layers.append(ConvNormAct(make_conv(f'{prefix}_pwconv0', inp, hidden, 1, 1, 1, 1), hidden, norm_cfg,
                                      act_cfg))
        layers += [
            ConvNormAct(make_conv(f'{prefix}_dwconv0', hidden, hidden, 3, stride, hidden, dilation), hidden,
                        norm_cfg, act_cfg),
            make_conv(f'{prefix}_pwconv1', hidden, oup, 1, 1, 1, 1),
            make_norm(norm_cfg, oup)
        ]
        self.conv = nn.Sequential(*layers)

    def _inner_forward(self, x: Tensor) -> Tensor:
        return x + self.conv(x) if self.use_res_connect else self.conv(x)

    def forward(self, x: Tensor) -> Tensor:
        if self.with_cp and x.requires_grad:
            return cp.checkpoint(self._inner_forward, x, use_reentrant=False)
        return self._inner_forward(x)


class DynamicMobileNetV2Base(FrozenStagesMixin, BaseModule):
    """MobileNetV2 body (``features``); subclasses provide ``make_stem`` and the conv factory.

    The arguments are those of the upstream ``MobileNetV2`` (mmpretrain / mmdet; ``strides`` and ``dilations``
    from mmseg's) with the same meaning.

    Args:
        widen_factor (float): Width multiplier (0.5, 0.75, 1.0 ...). Defaults to 1.0.
        out_indices (Sequence[int]): 0..6 are the seven inverted-residual groups, 7 the final 1x1 conv (1280
            channels), as in mmpretrain/mmdet's MobileNetV2. Layers after the last returned one are built (so
            released checkpoints load) but neither run nor trained. Defaults to (7, ).
        frozen_stages (int): Freeze the stem (0) and groups 1..n (8: also the final conv), the same blocks as
            upstream's; frozen modules are also kept in eval mode (upstream leaves the stem's BN statistics
            updating). -1: nothing. Defaults to -1.
        norm_eval (bool): Keep all BatchNorms in eval mode in training. Defaults to False.
        conv_cfg (dict, optional): Only None / ``dict(type='Conv2d')``: the block convs are the method's dynamic
            convs by definition. Defaults to None.
        norm_cfg (dict): Norm after every conv of the stem, the blocks and the final conv (``BN``, ``SyncBN``,
            ``GN`` ... with ``eps``, ``momentum``, ``requires_grad``); the attention branches keep their own.
            Defaults to ``dict(type='BN')``.
        act_cfg (dict): Activation of the stem, the expand / depthwise convs and the final conv. Defaults to
            ``dict(type='ReLU6')``.
        with_cp (bool): Activation checkpointing of every inverted-residual block. Defaults to False.
        strides (Sequence[int], optional): Stride of each of the seven groups (mmseg); None: MobileNetV2's
            ``(1, 2, 2, 2, 1, 2, 1)``.
        dilations (Sequence[int], optional): Dilation of the depthwise convs of each group (mmseg, e.g.
            ``(1, 1, 1, 2, 2, 4, 4)`` for output stride 8); None: all 1.
        pretrained (str, optional): Deprecated; becomes ``init_cfg=dict(type='Pretrained', ...)`` as in mmseg.
        init_cfg (dict, optional): e.g. ``dict(type='Pretrained', checkpoint=...)``.
    """

    def __init__(self, widen_factor: float = 1.0, out_indices: Sequence[int] = (7, ), frozen_stages: int = -1,
                 norm_eval: bool = False, conv_cfg: Optional[dict] = None, norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='ReLU6'), with_cp: bool = False, strides: Optional[Sequence[int]] = None,
                 dilations: Optional[Sequence[int]] = None, pretrained: Optional[str] = None, init_cfg=None) -> None:
        owner = type(self).__name__
        super().__init__(resolve_pretrained(owner, pretrained, init_cfg))
        self.pretrained = pretrained
        check_conv_cfg(owner, conv_cfg)
        self.norm_cfg = check_norm_cfg(owner, norm_cfg)
        if not isinstance(act_cfg, dict) or 'type' not in act_cfg:
            raise TypeError(f"{owner}: act_cfg must be a dict with a 'type' (e.g. dict(type='ReLU6')), "
                            f'got {act_cfg!r}')
        self.act_cfg, self.with_cp = dict(act_cfg), with_cp
        strides = tuple(s for _, _, _, s in SETTINGS) if strides is None else \
            check_stage_tuple(owner, 'strides', strides, len(SETTINGS))
        dilations = (1, ) * len(SETTINGS) if dilations is None else \
            check_stage_tuple(owner, 'dilations', dilations, len(SETTINGS))
        if not out_indices or not set(out_indices) <= set(range(8)):
            raise ValueError(f'{owner}: out_indices must be a non-empty sequence of 0..7, got {out_indices}')
        if not -1 <= frozen_stages <= 8:
            raise ValueError(f'{owner}: frozen_stages must be in -1..8, got {frozen_stages}')
        self.widen_factor, self.out_indices = widen_factor, tuple(out_indices)
        self.frozen_stages, self.norm_eval = frozen_stages, norm_eval
        self.strides, self.dilations = strides, dilations
        cin = make_divisible(32 * widen_factor)
        last = make_divisible(1280 * max(1.0, widen_factor))
        features: List[nn.Module] = [self.make_stem(cin)]
        self.stage_ends: List[int] = []
        channels: List[int] = []
        layer_idx = 0
        for gi, (t, c, n, _) in enumerate(SETTINGS):
            cout = make_divisible(c * widen_factor)
            for i in range(n):
                handover = i == 0 and gi > 0 and KW_STAGES[gi] != KW_STAGES[gi - 1]
                stage = KW_STAGES[gi] - 1 if handover else KW_STAGES[gi]
                features.append(
                    DynamicInvertedResidual(cin, cout, strides[gi] if i == 0 else 1, t, self.conv_factory(),
                                            f'stage{stage}_layer{layer_idx}', self.norm_cfg, self.act_cfg,
                                            dilations[gi], with_cp))
                cin = cout
                layer_idx = 0 if handover else layer_idx + 1
            self.stage_ends.append(len(features) - 1)
            channels.append(cout)
        make = self.conv_factory()
        features.append(self.conv_norm_act(make(f'stage{KW_STAGES[-1]}_layer{layer_idx}_pwconv1', cin, last, 1, 1,
                                                1, 1), last))
        self.stage_ends.append(len(features) - 1)
        channels.append(last)
        self.features = nn.Sequential(*features)
        self.stage_channels = tuple(channels)
        # layers after the last returned stage (e.g. the final conv for mmseg's out_indices=(1, 2, 4, 6), whose
        # MobileNetV2 has none) are kept for checkpoint compatibility but not run, and frozen (no gradient, so DDP
        # needs no find_unused_parameters)
        self.num_run = self.stage_ends[max(self.out_indices)] + 1
        for layer in list(self.features)[self.num_run:]:
            for p in layer.parameters():
                p.requires_grad = False
        for m in self.modules():
            if type(m) is nn.Conv2d:
                nn.init.kaiming_normal_(m.weight, mode='fan_out')

    def conv_norm_act(self, conv: nn.Module, out_channels: int) -> ConvNormAct:
        """``conv -> norm -> act`` with the backbone's ``norm_cfg`` and ``act_cfg`` (stem and final conv)."""
        return ConvNormAct(conv, out_channels, self.norm_cfg, self.act_cfg)

    @property
    def out_channels(self) -> Tuple[int, ...]:
        """Channels of each returned feature map, in output (stage) order."""
        return tuple(c for i, c in enumerate(self.stage_channels) if i in self.out_indices)

    def make_stem(self, out_channels: int) -> nn.Module:
        raise NotImplementedError

    def conv_factory(self) -> MBV2ConvFactory:
        raise NotImplementedError

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        outs = []
        ends = {e: i for i, e in enumerate(self.stage_ends)}
        for idx in range(self.num_run):
            x = self.features[idx](x)
            if idx in ends and ends[idx] in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def frozen_modules(self) -> List[nn.Module]:
        if self.frozen_stages < 0:
            return []
        end = 0 if self.frozen_stages == 0 else self.stage_ends[self.frozen_stages - 1]
        return [self.features[i] for i in range(end + 1)]
