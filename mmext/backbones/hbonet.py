"""HBONet: harmonious bottlenecks that contract space while they expand channels, then restore both.

Duo Li, Aojun Zhou, Anbang Yao. "HBONet: Harmonious Bottleneck on Two Orthogonal Dimensions", ICCV 2019,
arXiv 1908.03888. Release: d-li14/HBONet ``models/imagenet/hbonet.py``.

Layout and module names are the release's (``features.{i}.conv.{j}``, ``features.{i}.upconv.{0,1}``, ``conv.{0,1}``),
so its committed ``pretrained/*.pth`` state dicts load after a prefix change only
(``tools/model_converters/hbonet2mmext.py``). ``arch`` selects the main model (``'2x'``) or the 4x / 8x
down-sampling variants of the paper's Table 6 (the release's commented-out ``cfgs`` rows).

One deliberate difference: the release's ``nn.Upsample(scale_factor)`` and ``AvgPool2d(2)`` only line up with the
down-sampled branch on even feature maps (every size at 224 px input); here the up-sampling goes to the kept
branch's size (nearest) and the pooling uses ``ceil_mode``, which is identical on even sizes and lets detection /
segmentation inputs of any size run.
"""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from ..registry import register
from .dynamic_mobilenetv2 import make_divisible
from .frozen_stages import FrozenStagesMixin

__all__ = ['HBONet', 'HarmoniousBottleneck', 'HBOInvertedResidual']


def _dw(c: int, k: int, stride: int) -> nn.Conv2d:
    return nn.Conv2d(c, c, k, stride, k // 2, groups=c, bias=False)


def _pw(cin: int, cout: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 1, 1, 0, bias=False)


class HBOInvertedResidual(nn.Module):
    """MobileNetV2 inverted residual with the release's flat ``conv.{j}`` numbering."""

    def __init__(self, inp: int, oup: int, stride: int, expand_ratio: int) -> None:
        super().__init__()
        hidden = round(inp * expand_ratio)
        self.identity = stride == 1 and inp == oup
        layers: List[nn.Module] = []
        if expand_ratio != 1:
            layers += [_pw(inp, hidden), nn.BatchNorm2d(hidden), nn.ReLU6(inplace=True)]
        layers += [nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False), nn.BatchNorm2d(hidden),
                   nn.ReLU6(inplace=True), _pw(hidden, oup), nn.BatchNorm2d(oup)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv(x) if self.identity else self.conv(x)


class HarmoniousBottleneck(nn.Module):
    """The harmonious bottleneck (release ``HarmoniousBottleneck_{2,4,8}x``).

    Main branch ``conv``: ``down`` depthwise 5x5 stride-2 linear layers, each followed by a pointwise conv + ReLU6
    (the first expands to ``inp * t``), then a depthwise 3x3 (+ ReLU6 in the 2x block only) and a pointwise-linear
    to ``oup // 2``. Output: the last ``oup - oup // 2`` input channels pass through (pooled when ``stride=2``) and
    come first; the main branch is up-sampled (nearest) back, added to the first ``oup // 2`` input channels and
    filtered by a depthwise 5x5 linear ``upconv``. The 2x block with stride 2 has neither up-sampling nor upconv.

    Args:
        inp (int): Input channels.
        oup (int): Output channels.
        stride (int): 1 or 2.
        expand_ratio (int): t.
        down (int): Stride-2 depthwise layers in the main branch: 1 (2x), 2 (4x) or 3 (8x).
    """

    def __init__(self, inp: int, oup: int, stride: int, expand_ratio: int, down: int = 1) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f'HarmoniousBottleneck: stride must be 1 or 2, got {stride}')
        if down not in (1, 2, 3):
            raise ValueError(f'HarmoniousBottleneck: down must be 1, 2 or 3 (2x/4x/8x), got {down}')
        if inp < oup - oup // 2:
            raise ValueError(f'HarmoniousBottleneck: inp={inp} is smaller than the {oup - oup // 2} channels '
                             f'the block passes through')
        self.stride, self.oup, self.down = stride, oup, down
        hidden = inp * expand_ratio
        layers: List[nn.Module] = [_dw(inp, 5, 2), nn.BatchNorm2d(inp), _pw(inp, hidden), nn.BatchNorm2d(hidden),
                                   nn.ReLU6(inplace=True)]
        for _ in range(down - 1):
            layers += [_dw(hidden, 5, 2), nn.BatchNorm2d(hidden), _pw(hidden, hidden), nn.BatchNorm2d(hidden),
                       nn.ReLU6(inplace=True)]
        layers += [_dw(hidden, 3, 1), nn.BatchNorm2d(hidden)]
        if down == 1:
            layers.append(nn.ReLU6(inplace=True))
        layers += [_pw(hidden, oup // 2), nn.BatchNorm2d(oup // 2)]
        self.conv = nn.Sequential(*layers)
        self.has_upconv = not (down == 1 and stride == 2)
        if self.has_upconv:
            self.upconv = nn.Sequential(_dw(oup // 2, 5, 1), nn.BatchNorm2d(oup // 2))

    @staticmethod
    def _pool(x: Tensor) -> Tensor:
        return F.avg_pool2d(x, 2, ceil_mode=True)

    def forward(self, x: Tensor) -> Tensor:
        keep = x[:, -(self.oup - self.oup // 2):]
        if self.stride == 2:
            keep = self._pool(keep)
        main = self.conv(x)
        if not self.has_upconv:
            return torch.cat((keep, main), dim=1)
        skip = x[:, :self.oup // 2]
        if self.stride == 2:
            skip = self._pool(skip)
        main = F.interpolate(main, size=skip.shape[-2:], mode='nearest')
        return torch.cat((keep, self.upconv(skip + main)), dim=1)


#: (t, c, n, s, block) of the release; block: 'ir', 'hb' or 'conv1x1' (linear)
_CFGS = ((1, 20, 1, 1, 'ir'), (2, 36, 1, 1, 'hb'), (2, 72, 3, 2, 'hb'), (2, 96, 4, 2, 'hb'), (2, 192, 4, 2, 'hb'),
         (2, 288, 1, 1, 'hb'), (0, 144, 1, 1, 'conv1x1'), (6, 200, 2, 2, 'ir'), (6, 400, 1, 1, 'ir'))
#: down-sampling depth of the HB blocks of cfg rows 1, 2, 3 per arch (rows 4, 5 are always 2x)
_ARCH_DOWN = {'2x': (1, 1, 1), '4x': (2, 2, 2), '8x': (3, 3, 2)}
#: the release's divisible_value per width (8 for any other width)
_DIVISIBLE = {0.1: 4, 0.25: 2, 0.5: 2}


@register('MODELS')
class HBONet(FrozenStagesMixin, BaseModule):
    """HBONet backbone.

    Args:
        widen_factor (float): Width multiplier; the release's models: 1.0, 0.8, 0.5, 0.35, 0.25, 0.1.
            Defaults to 1.0.
        arch (str): ``'2x'`` (main model), ``'4x'`` or ``'8x'`` (Table 6 variants). Defaults to ``'2x'``.
        divisible_value (int, optional): Channel rounding. ``None``: the release's rule (4 for 0.1x, 2 for 0.25x
            and 0.5x, 8 otherwise); the release's variant checkpoints (``pretrained/variant/*_8_divisible.pth``)
            use 8. Defaults to None.
        out_indices (Sequence[int]): 0..8 are the nine ``cfgs`` rows (strides 2, 2, 4, 8, 16, 16, 16, 32, 32),
            9 is the final 1x1 conv to 1600 channels (not scaled for widths <= 1; built only when 9 is
            returned). Defaults to (9, ).
        frozen_stages (int): Freeze the stem (0) and rows 0..n-1 (10 also freezes the final conv); -1: nothing.
            Defaults to -1.
        norm_eval (bool): BatchNorm in eval mode during training. Defaults to False.
        init_cfg (dict, optional): ``None`` uses the release's init (conv normal(0, sqrt(2/(k*k*out))), BN 1/0).

    Published (release README, 224 px, MFLOPs = multiply-adds of convs and the classifier): 1.0x 305 / 73.1 top-1,
    0.8x 205 / 71.3, 0.5x 96 / 67.0, 0.35x 61 / 62.4, 0.25x 37 / 57.3, 0.1x 14 / 41.5; 4.5M params at 1.0x.
    """

    def __init__(self, widen_factor: float = 1.0, arch: str = '2x', divisible_value: Optional[int] = None,
                 out_indices: Sequence[int] = (9, ), frozen_stages: int = -1, norm_eval: bool = False,
                 init_cfg=None) -> None:
        super().__init__(init_cfg)
        if arch not in _ARCH_DOWN:
            raise ValueError(f'HBONet: arch must be one of {sorted(_ARCH_DOWN)}, got {arch!r}')
        if widen_factor <= 0:
            raise ValueError(f'HBONet: widen_factor must be > 0, got {widen_factor}')
        if not set(out_indices) <= set(range(10)):
            raise ValueError(f'HBONet: out_indices must be in 0..9, got {out_indices}')
        if not -1 <= frozen_stages <= 10:
            raise ValueError(f'HBONet: frozen_stages must be in -1..10, got {frozen_stages}')
        self.widen_factor, self.arch = widen_factor, arch
        self.out_indices, self.frozen_stages, self.norm_eval = tuple(out_indices), frozen_stages, norm_eval
        div = _DIVISIBLE.get(widen_factor, 8) if divisible_value is None else divisible_value
        self.divisible_value = div
        cin = make_divisible(32 * widen_factor, div)
        layers: List[nn.Module] = [nn.Sequential(nn.Conv2d(3, cin, 3, 2, 1, bias=False), nn.BatchNorm2d(cin),
                                                 nn.ReLU6(inplace=True))]
        self.row_ends: List[int] = []
        channels: List[int] = []
        downs = dict(zip((1, 2, 3), _ARCH_DOWN[arch]))
        for row, (t, c, n, s, kind) in enumerate(_CFGS):
            cout = make_divisible(c * widen_factor, div)
            if kind == 'conv1x1':
                layers.append(nn.Sequential(_pw(cin, cout), nn.BatchNorm2d(cout), nn.Sequential()))
                cin = cout
            for i in range(n if kind != 'conv1x1' else 0):
                stride = s if i == 0 else 1
                if kind == 'ir':
                    layers.append(HBOInvertedResidual(cin, cout, stride, t))
                else:
                    layers.append(HarmoniousBottleneck(cin, cout, stride, t, downs.get(row, 1)))
                cin = cout
            self.row_ends.append(len(layers) - 1)
            channels.append(cout)
        self.features = nn.Sequential(*layers)
        last = make_divisible(1600 * widen_factor, div) if widen_factor > 1.0 else 1600
        # built only when returned, so a detection backbone has no parameter without a gradient
        self.conv = (nn.Sequential(_pw(cin, last), nn.BatchNorm2d(last), nn.ReLU6(inplace=True))
                     if 9 in self.out_indices else None)
        channels.append(last)
        self.stage_channels: Tuple[int, ...] = tuple(channels)
        if init_cfg is None:
            self._release_init()
        self._freeze_stages()

    @property
    def out_channels(self) -> Tuple[int, ...]:
        """Channels of each returned feature map."""
        return tuple(self.stage_channels[i] for i in self.out_indices)

    def _release_init(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, 0, (2.0 / (m.kernel_size[0] * m.kernel_size[1] * m.out_channels))**0.5)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        outs = []
        ends = {e: r for r, e in enumerate(self.row_ends)}
        for idx, layer in enumerate(self.features):
            x = layer(x)
            if idx in ends and ends[idx] in self.out_indices:
                outs.append(x)
        if self.conv is not None:
            outs.append(self.conv(x))
        return tuple(outs)

    def frozen_modules(self) -> List[nn.Module]:
        if self.frozen_stages < 0:
            return []
        mods: List[nn.Module] = [self.features[0]]
        if self.frozen_stages >= 1:
            end = self.row_ends[min(self.frozen_stages, 9) - 1]
            mods += [self.features[i] for i in range(1, end + 1)]
        if self.frozen_stages == 10 and self.conv is not None:
            mods.append(self.conv)
        return mods
