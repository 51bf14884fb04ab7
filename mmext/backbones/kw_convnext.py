"""KW-ConvNeXt: ConvNeXt-Tiny with KernelWarehouse convolutions.

Chao Li, Anbang Yao. "KernelWarehouse: Rethinking the Design of Dynamic Convolution", ICML 2024,
arXiv 2406.07879. As released (``models/kw_convnext.py``): the 4x4 stem, the three 2x2 downsamplers, every 7x7
depthwise conv and both pointwise layers (as KW 1x1 convs, channels-first) are KW convs with bias; the attention
uses LayerNorm (so ``fc1`` has a bias); ``sharing_range=('layer', 'pwconv')``: per stage one warehouse for the
downsampler feeding the next stage (handover), one for the depthwise convs and one for pwconv1+pwconv2.
Published: KW-ConvNeXt-T 1x 39.37M with the 1000-class head (ConvNeXt-T: 28.59M).
"""
from typing import List, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from ..ops.warehouse_manager import WarehouseManager
from ..registry import register
from .frozen_stages import FrozenStagesMixin
from .kw_utils import frozen_warehouses

__all__ = ['KWConvNeXt']


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of a ``[B, C, H, W]`` map."""

    def forward(self, x: Tensor) -> Tensor:
        return F.layer_norm(x.permute(0, 2, 3, 1), self.normalized_shape, self.weight, self.bias,
                            self.eps).permute(0, 3, 1, 2)


class KWConvNeXtBlock(nn.Module):
    """dw 7x7 -> LN -> pw 1x1 (4x) -> GELU -> pw 1x1 -> layer scale -> drop path, all convs KW."""

    def __init__(self, dim: int, wm: WarehouseManager, stage: int, layer: int, drop_path: float,
                 layer_scale_init_value: float) -> None:
        super().__init__()
        self.dwconv = wm.reserve(dim, dim, 7, 1, 3, groups=dim, warehouse_name=f'stage{stage}_layer{layer}_dwconv0')
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pwconv1 = wm.reserve(dim, 4 * dim, 1, warehouse_name=f'stage{stage}_layer{layer}_pwconv1')
        self.act = nn.GELU()
        self.pwconv2 = wm.reserve(4 * dim, dim, 1, warehouse_name=f'stage{stage}_layer{layer}_pwconv2')
        self.gamma = nn.Parameter(layer_scale_init_value * torch.ones(1, dim, 1, 1)) \
            if layer_scale_init_value > 0 else None
        self.drop_path = drop_path

    def forward(self, x: Tensor) -> Tensor:
        y = self.dwconv(x)
        y = self.norm(y.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        y = self.pwconv2(self.act(self.pwconv1(y)))
        if self.gamma is not None:
            y = self.gamma * y
        if self.training and self.drop_path > 0:
            keep = y.new_empty(y.shape[0], 1, 1, 1).bernoulli_(1 - self.drop_path)
            y = y * keep / (1 - self.drop_path)
        return x + y


@register('MODELS')
class KWConvNeXt(FrozenStagesMixin, BaseModule):
    """ConvNeXt backbone with KernelWarehouse convolutions.

    Args:
        arch (str | dict): ``'tiny'`` (depths 3-3-9-3, dims 96-192-384-768) or ``dict(depths=[...4],
            dims=[...4])`` for a custom (e.g. CPU-sized) network. Defaults to ``'tiny'``.
        cell_num_ratio (float): b. Defaults to 1.
        cell_inplane_ratio, cell_outplane_ratio (float): Defaults to 1.
        reduction (float): Attention reduction. Defaults to 0.0625.
        sharing_range (Sequence[str]): Defaults to ('layer', 'pwconv').
        drop_path_rate (float): Stochastic depth (0.3 in the KW recipe). Defaults to 0.
        layer_scale_init_value (float): Defaults to 1e-6.
        out_indices (Sequence[int]): Stages 0-3 to return. Defaults to (3, ).
        gap_before_final_norm (bool): Return ``norm{i}(mean over H, W)`` (classification, as released) instead
            of the normalised map. Defaults to True.
        frozen_stages (int): Freeze downsampler+stage 0..n. Defaults to -1.
        init_cfg (dict, optional): Initialisation config.

    Every output index ``i`` has a LayerNorm ``norm{i}``; ``norm3`` is the released classifier's ``norm``.
    """

    arch_settings = {'tiny': ((3, 3, 9, 3), (96, 192, 384, 768))}

    def __init__(self, arch: Union[str, dict] = 'tiny', cell_num_ratio: float = 1, cell_inplane_ratio: float = 1,
                 cell_outplane_ratio: float = 1, reduction: float = 0.0625,
                 sharing_range: Sequence[str] = ('layer', 'pwconv'), drop_path_rate: float = 0.0,
                 layer_scale_init_value: float = 1e-6, out_indices: Sequence[int] = (3, ),
                 gap_before_final_norm: bool = True, frozen_stages: int = -1, init_cfg=None) -> None:
        super().__init__(init_cfg)
        if isinstance(arch, dict):
            if set(arch) != {'depths', 'dims'} or len(arch['depths']) != 4 or len(arch['dims']) != 4:
                raise ValueError(f'KWConvNeXt: a dict arch needs depths and dims of 4 stages each, got {arch}')
            depths, dims = tuple(arch['depths']), tuple(arch['dims'])
        elif arch in self.arch_settings:
            depths, dims = self.arch_settings[arch]
        else:
            raise ValueError(f'KWConvNeXt: arch must be one of {sorted(self.arch_settings)} or a dict, got {arch!r}')
        if not set(out_indices) <= {0, 1, 2, 3}:
            raise ValueError(f'KWConvNeXt: out_indices must be in 0..3, got {out_indices}')
        self.out_indices, self.gap_before_final_norm = tuple(out_indices), gap_before_final_norm
        self.frozen_stages = frozen_stages
        self.stage_channels = tuple(dims)
        wm = WarehouseManager(reduction, cell_num_ratio, cell_inplane_ratio, cell_outplane_ratio, sharing_range,
                              1.0, norm='LN')
        self.downsample_layers = nn.ModuleList()
        self.downsample_layers.append(
            nn.Sequential(wm.reserve(3, dims[0], 4, 4, warehouse_name='stagestem_conv0'),
                          LayerNorm2d(dims[0], eps=1e-6)))
        for i in range(3):
            self.downsample_layers.append(
                nn.Sequential(LayerNorm2d(dims[i], eps=1e-6),
                              wm.reserve(dims[i], dims[i + 1], 2, 2, warehouse_name=f'stage{i}_layerds_conv0')))
        rates = [drop_path_rate * i / max(sum(depths) - 1, 1) for i in range(sum(depths))]
        self.stages = nn.ModuleList()
        cur = 0
        for i in range(4):
            self.stages.append(nn.Sequential(*[
                KWConvNeXtBlock(dims[i], wm, i, j, rates[cur + j], layer_scale_init_value) for j in range(depths[i])
            ]))
            cur += depths[i]
        for i in self.out_indices:
            self.add_module(f'norm{i}', nn.LayerNorm(dims[i], eps=1e-6) if gap_before_final_norm else
                            LayerNorm2d(dims[i], eps=1e-6))
        self.warehouse_manager = wm
        wm.store()
        wm.allocate(self)
        self._freeze_stages()

    @property
    def out_channels(self) -> Tuple[int, ...]:
        return tuple(self.stage_channels[i] for i in self.out_indices)

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        outs = []
        for i in range(4):
            x = self.stages[i](self.downsample_layers[i](x))
            if i in self.out_indices:
                norm = getattr(self, f'norm{i}')
                outs.append(norm(x.mean(dim=(2, 3))) if self.gap_before_final_norm else norm(x))
        return tuple(outs)

    def frozen_modules(self) -> List[nn.Module]:
        mods: List[nn.Module] = []
        for i in range(self.frozen_stages + 1):
            mods += [self.downsample_layers[i], self.stages[i]]
        return mods + (frozen_warehouses(self.warehouse_manager, self, mods) if mods else [])
