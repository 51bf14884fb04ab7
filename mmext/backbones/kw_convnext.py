"""KW-ConvNeXt: ConvNeXt with KernelWarehouse convolutions, a drop-in for mmpretrain's ``ConvNeXt``.

Chao Li, Anbang Yao. "KernelWarehouse: Rethinking the Design of Dynamic Convolution", ICML 2024,
arXiv 2406.07879. As released (``models/kw_convnext.py``): the 4x4 stem, the three 2x2 downsamplers, every 7x7
depthwise conv and both pointwise layers (as KW 1x1 convs, channels-first) are KW convs with bias; the attention
uses LayerNorm (so ``fc1`` has a bias); ``sharing_range=('layer', 'pwconv')``: per stage one warehouse for the
downsampler feeding the next stage (handover), one for the depthwise convs and one for pwconv1+pwconv2.
Published: KW-ConvNeXt-T 1x 39.37M with the 1000-class head (ConvNeXt-T: 28.59M).

The constructor takes mmpretrain's ``ConvNeXt`` arguments (ConvNeXt: Liu et al., "A ConvNet for the 2020s",
CVPR 2022, arXiv 2201.03545; ConvNeXt V2's GRN: Woo et al., CVPR 2023, arXiv 2301.00808) with the same meaning,
so a stock mmpretrain / mmdet / mmseg ConvNeXt config runs with only ``type`` changed.
"""
from typing import Any, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint as cp
from mmcv.cnn import build_activation_layer, build_norm_layer
from mmcv.cnn.bricks import DropPath
from mmengine.model import BaseModule
from torch import Tensor

from ..ops.warehouse_manager import WarehouseManager
from ..registry import register
from .frozen_stages import FrozenStagesMixin
from .kw_utils import frozen_warehouses
from .upstream_args import check_norm_cfg

__all__ = ['KWConvNeXt', 'LayerNorm2d', 'GRN2d', 'build_convnext_norm']

#: norm types a ConvNeXt block can use on a channels-first map (``LN2d`` is mmpretrain's default)
CONVNEXT_NORMS = ('LN2d', 'BN', 'BN2d', 'SyncBN', 'GN', 'IN', 'IN2d')


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of a ``[B, C, H, W]`` map (mmpretrain's ``LN2d``)."""

    def forward(self, x: Tensor) -> Tensor:
        return F.layer_norm(x.permute(0, 2, 3, 1), self.normalized_shape, self.weight, self.bias,
                            self.eps).permute(0, 3, 1, 2).contiguous()


class GRN2d(nn.Module):
    """Global Response Normalization of ConvNeXt V2 on a ``[B, C, H, W]`` map.

    ``x + gamma * (x * N(x)) + beta`` with ``G(x) = ||x||_2`` over H, W and ``N(x) = G(x) / (mean_C G(x) + eps)``;
    gamma and beta start at 0 (an identity at initialisation).

    Args:
        channels (int): C.
        eps (float): Defaults to 1e-6.
    """

    def __init__(self, channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.zeros(channels))
        self.beta = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        g = x.pow(2).sum(dim=(2, 3), keepdim=True).sqrt()
        n = g / (g.mean(dim=1, keepdim=True) + self.eps)
        return x + self.gamma.view(1, -1, 1, 1) * (x * n) + self.beta.view(1, -1, 1, 1)


def build_convnext_norm(norm_cfg: dict, channels: int) -> nn.Module:
    """A channels-first norm from a ConvNeXt ``norm_cfg``: ``LN2d`` (kwargs of ``nn.LayerNorm``) or an mmcv norm."""
    cfg = dict(norm_cfg)
    kind = cfg.pop('type')
    if kind == 'LN2d':
        return LayerNorm2d(channels, **cfg)
    return build_norm_layer(dict(norm_cfg), channels)[1]


class KWConvNeXtBlock(nn.Module):
    """dw 7x7 -> norm -> pw 1x1 (4x) -> act [-> GRN] -> pw 1x1 -> layer scale -> drop path, all convs KW."""

    def __init__(self, dim: int, wm: WarehouseManager, stage: int, layer: int, drop_path: float,
                 layer_scale_init_value: float, norm_cfg: dict, act_cfg: dict, use_grn: bool,
                 with_cp: bool) -> None:
        super().__init__()
        self.dwconv = wm.reserve(dim, dim, 7, 1, 3, groups=dim, warehouse_name=f'stage{stage}_layer{layer}_dwconv0')
        self.norm = build_convnext_norm(norm_cfg, dim)
        self.pwconv1 = wm.reserve(dim, 4 * dim, 1, warehouse_name=f'stage{stage}_layer{layer}_pwconv1')
        self.act = build_activation_layer(dict(act_cfg))
        self.grn = GRN2d(4 * dim) if use_grn else None
        self.pwconv2 = wm.reserve(4 * dim, dim, 1, warehouse_name=f'stage{stage}_layer{layer}_pwconv2')
        # [1, C, 1, 1] as in the release (mmpretrain stores [C]); same values
        self.gamma = nn.Parameter(layer_scale_init_value * torch.ones(1, dim, 1, 1)) \
            if layer_scale_init_value > 0 else None
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.with_cp = with_cp

    def _inner_forward(self, x: Tensor) -> Tensor:
        y = self.act(self.pwconv1(self.norm(self.dwconv(x))))
        if self.grn is not None:
            y = self.grn(y)
        y = self.pwconv2(y)
        if self.gamma is not None:
            y = self.gamma * y
        return x + self.drop_path(y)

    def forward(self, x: Tensor) -> Tensor:
        if self.with_cp and x.requires_grad:
            return cp.checkpoint(self._inner_forward, x, use_reentrant=False)
        return self._inner_forward(x)


def _resolve_arch(arch: Union[str, dict], settings: dict) -> Tuple[Tuple[int, ...], Tuple[int, ...]]:
    if isinstance(arch, str):
        if arch not in settings:
            raise ValueError(f'KWConvNeXt: arch must be one of {sorted(settings)} or a dict, got {arch!r}')
        arch = settings[arch]
    if not isinstance(arch, dict):
        raise TypeError(f'KWConvNeXt: arch must be a str or a dict, got {arch!r}')
    channel_key = 'channels' if 'channels' in arch else 'dims'  # 'dims': the release's name, also accepted
    if 'depths' not in arch or channel_key not in arch or set(arch) - {'depths', channel_key}:
        raise ValueError(f'KWConvNeXt: a dict arch needs exactly "depths" and "channels", got {sorted(arch)}')
    depths, channels = tuple(arch['depths']), tuple(arch[channel_key])
    if not depths or len(depths) != len(channels):
        raise ValueError(f'KWConvNeXt: arch "depths" ({depths}) and "channels" ({channels}) must be sequences of '
                         f'the same length')
    return depths, channels


def _resolve_out_indices(out_indices: Union[int, Sequence[int]], num_stages: int) -> Tuple[int, ...]:
    if isinstance(out_indices, int):
        out_indices = [out_indices]
    if not isinstance(out_indices, Sequence) or not all(isinstance(i, int) for i in out_indices):
        raise TypeError(f'KWConvNeXt: out_indices must be an int or a sequence of ints, got {out_indices!r}')
    resolved = tuple(i + num_stages if i < 0 else i for i in out_indices)
    if not all(0 <= i < num_stages for i in resolved):
        raise ValueError(f'KWConvNeXt: out_indices must be in -{num_stages}..{num_stages - 1}, got {out_indices}')
    return resolved


def _check_args(norm_cfg: Any, act_cfg: Any, frozen_stages: Any, num_stages: int) -> dict:
    norm_cfg = check_norm_cfg('KWConvNeXt', norm_cfg)
    if norm_cfg['type'] not in CONVNEXT_NORMS:
        raise ValueError(f"KWConvNeXt: norm_cfg={norm_cfg!r} cannot be honoured: the blocks normalise a "
                         f"channels-first map; use one of {list(CONVNEXT_NORMS)} (mmpretrain's default is "
                         f"dict(type='LN2d', eps=1e-6); 'LN' would normalise the width axis)")
    if not isinstance(act_cfg, dict) or 'type' not in act_cfg:
        raise TypeError(f"KWConvNeXt: act_cfg must be a dict with a 'type' (e.g. dict(type='GELU')), "
                        f'got {act_cfg!r}')
    if isinstance(frozen_stages, bool) or not isinstance(frozen_stages, int) or \
            not -1 <= frozen_stages <= num_stages:
        raise ValueError(f'KWConvNeXt: frozen_stages must be an int in 0..{num_stages} (the number of stages '
                         f'frozen, as mmpretrain\'s ConvNeXt), got {frozen_stages!r}')
    return norm_cfg


@register('MODELS')
class KWConvNeXt(FrozenStagesMixin, BaseModule):
    """ConvNeXt backbone with KernelWarehouse convolutions (mmpretrain ``ConvNeXt`` interface).

    Args:
        arch (str | dict): One of :attr:`arch_settings` (``'atto'`` .. ``'huge'``, as mmpretrain; the paper uses
            ``'tiny'``), or ``dict(depths=[...], channels=[...])`` (``dims`` is accepted for ``channels``).
            Defaults to ``'tiny'``.
        in_channels (int): Input image channels. Defaults to 3.
        stem_patch_size (int): Kernel size and stride of the (KW) stem conv. Defaults to 4.
        norm_cfg (dict): Norm of the stem, downsamplers, blocks and outputs; ``LN2d`` (channel LayerNorm) or a
            channels-first mmcv norm (``BN``, ``SyncBN``, ``GN``, ``IN``). Defaults to
            ``dict(type='LN2d', eps=1e-6)``.
        act_cfg (dict): Activation between the pointwise convs. Defaults to ``dict(type='GELU')``.
        linear_pw_conv (bool): mmpretrain's choice between ``nn.Linear`` on a channels-last map and a 1x1 conv,
            two implementations of the same function. The KW pointwise layers are KW 1x1 convs either way (as
            released). Defaults to True.
        use_grn (bool): ConvNeXt V2's Global Response Normalization after the activation. Defaults to False.
        drop_path_rate (float): Stochastic depth, rising linearly to this over the blocks (0.3 in the KW
            recipe). Defaults to 0.
        layer_scale_init_value (float): Layer scale init; 0 disables it. Defaults to 1e-6.
        out_indices (int | Sequence[int]): Stages to return (negative counts from the last). Defaults to -1.
        frozen_stages (int): Number of stages frozen (downsampler + blocks of stages ``0..n-1``), as mmpretrain's
            ConvNeXt; 0 (or -1) freezes nothing. A warehouse is frozen when all its layers are. Defaults to 0.
        gap_before_final_norm (bool): Return ``norm{i}`` of the globally pooled map (classification) instead of
            the normalised map (dense prediction). Defaults to True.
        with_cp (bool): Activation checkpointing of every block (``torch.utils.checkpoint``). Defaults to False.
        cell_num_ratio, cell_inplane_ratio, cell_outplane_ratio (float): KW's b and cell ratios. Defaults to 1.
        reduction (float): Attention reduction. Defaults to 0.0625.
        sharing_range (Sequence[str]): Defaults to ('layer', 'pwconv').
        init_cfg (dict | list, optional): e.g. ``dict(type='Pretrained', checkpoint=...)``. Defaults to None:
            the KW layers' own initialisation, as released.

    Every output index ``i`` has a norm ``norm{i}``; ``norm3`` is the released classifier's ``norm``.
    """

    arch_settings = {
        'atto': dict(depths=[2, 2, 6, 2], channels=[40, 80, 160, 320]),
        'femto': dict(depths=[2, 2, 6, 2], channels=[48, 96, 192, 384]),
        'pico': dict(depths=[2, 2, 6, 2], channels=[64, 128, 256, 512]),
        'nano': dict(depths=[2, 2, 8, 2], channels=[80, 160, 320, 640]),
        'tiny': dict(depths=[3, 3, 9, 3], channels=[96, 192, 384, 768]),
        'small': dict(depths=[3, 3, 27, 3], channels=[96, 192, 384, 768]),
        'base': dict(depths=[3, 3, 27, 3], channels=[128, 256, 512, 1024]),
        'large': dict(depths=[3, 3, 27, 3], channels=[192, 384, 768, 1536]),
        'xlarge': dict(depths=[3, 3, 27, 3], channels=[256, 512, 1024, 2048]),
        'huge': dict(depths=[3, 3, 27, 3], channels=[352, 704, 1408, 2816]),
    }

    def __init__(self, arch: Union[str, dict] = 'tiny', in_channels: int = 3, stem_patch_size: int = 4,
                 norm_cfg: dict = dict(type='LN2d', eps=1e-6), act_cfg: dict = dict(type='GELU'),
                 linear_pw_conv: bool = True, use_grn: bool = False, drop_path_rate: float = 0.0,
                 layer_scale_init_value: float = 1e-6, out_indices: Union[int, Sequence[int]] = -1,
                 frozen_stages: int = 0, gap_before_final_norm: bool = True, with_cp: bool = False,
                 cell_num_ratio: float = 1, cell_inplane_ratio: float = 1, cell_outplane_ratio: float = 1,
                 reduction: float = 0.0625, sharing_range: Sequence[str] = ('layer', 'pwconv'),
                 init_cfg: Optional[Union[dict, list]] = None) -> None:
        super().__init__(init_cfg)
        depths, dims = _resolve_arch(arch, self.arch_settings)
        num_stages = len(depths)
        norm_cfg = _check_args(norm_cfg, act_cfg, frozen_stages, num_stages)
        self.depths, self.channels, self.num_stages = depths, dims, num_stages
        self.out_indices = _resolve_out_indices(out_indices, num_stages)
        self.gap_before_final_norm, self.frozen_stages = gap_before_final_norm, frozen_stages
        self.linear_pw_conv, self.with_cp = linear_pw_conv, with_cp
        self.stage_channels = dims
        wm = WarehouseManager(reduction, cell_num_ratio, cell_inplane_ratio, cell_outplane_ratio, sharing_range,
                              1.0, norm='LN')
        self.downsample_layers = nn.ModuleList()
        self.downsample_layers.append(
            nn.Sequential(
                wm.reserve(in_channels, dims[0], stem_patch_size, stem_patch_size, warehouse_name='stagestem_conv0'),
                build_convnext_norm(norm_cfg, dims[0])))
        for i in range(num_stages - 1):
            self.downsample_layers.append(
                nn.Sequential(build_convnext_norm(norm_cfg, dims[i]),
                              wm.reserve(dims[i], dims[i + 1], 2, 2, warehouse_name=f'stage{i}_layerds_conv0')))
        total = sum(depths)  # torch.linspace's values, computed on the host (the model may be built on 'meta')
        rates = [drop_path_rate * i / (total - 1) if total > 1 else 0.0 for i in range(total)]
        self.stages = nn.ModuleList()
        cur = 0
        for i in range(num_stages):
            self.stages.append(nn.Sequential(*[
                KWConvNeXtBlock(dims[i], wm, i, j, rates[cur + j], layer_scale_init_value, norm_cfg, act_cfg,
                                use_grn, with_cp) for j in range(depths[i])
            ]))
            cur += depths[i]
        for i in self.out_indices:
            self.add_module(f'norm{i}', build_convnext_norm(norm_cfg, dims[i]))
        self.warehouse_manager = wm
        wm.store()
        wm.allocate(self)
        self._freeze_stages()

    @property
    def out_channels(self) -> Tuple[int, ...]:
        """Channels of each returned feature, in output order (stage order, as the forward returns them)."""
        return tuple(c for i, c in enumerate(self.stage_channels) if i in self.out_indices)

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        outs = []
        for i in range(self.num_stages):
            x = self.stages[i](self.downsample_layers[i](x))
            if i in self.out_indices:
                norm = getattr(self, f'norm{i}')
                outs.append(norm(x.mean(dim=(2, 3), keepdim=True)).flatten(1) if self.gap_before_final_norm else
                            norm(x))
        return tuple(outs)

    def frozen_modules(self) -> List[nn.Module]:
        mods: List[nn.Module] = []
        for i in range(max(self.frozen_stages, 0)):
            mods += [self.downsample_layers[i], self.stages[i]]
        return mods + (frozen_warehouses(self.warehouse_manager, self, mods) if mods else [])
