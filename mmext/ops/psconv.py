"""Poly-scale convolution (PSConv) and its grouped form (PSGConv).

Duo Li, Anbang Yao, Qifeng Chen. "PSConv: Squeezing Feature Pyramid into One Compact Poly-Scale Convolutional
Layer", ECCV 2020, arXiv 2007.06191. Release: d-li14/PSConv, ``mmdet/models/utils/psconv.py``.

The channels of each cardinal group (``groups``) are cut into ``parts`` blocks. Output block ``o`` sees input
block ``i`` at a dilation that depends only on the cyclic offset ``s = (i - o) mod parts``:

* ``s = 0`` (the diagonal) at ``dilation``            -- the release's ``gwconv``;
* ``s = parts / 2``        at ``2 * dilation``        -- the release's ``gwconv_shift`` on the half-swapped input;
* every other offset       at dilation 1              -- the release's dense ``conv`` with those blocks unmasked.

With the release's ``dilation=2, parts=4`` a row of blocks reads ``[2, 1, 4, 1]`` (rolled by one per row): the
cyclic {1, 2, 4} spectrum of the paper. The effective weights are exactly those of one plain k x k conv.

Two weight layouts (``weight_layout``):

* ``'compact'`` (default): only the effective weights are stored, ``gwconv.weight`` / ``gwconv_shift.weight``
  ``[out, in/(groups*parts), k, k]`` and ``conv_rest.weight [out, (parts-2)*in/(groups*parts), k, k]``, the
  dilation-1 blocks of each output block in ascending input-block order. ``conv_rest`` is one grouped conv
  (``groups*parts`` groups) over the input gathered with a fixed channel index, so storage *and* FLOPs (training
  and inference) are those of one plain conv.
* ``'release'``: the release's keys and shapes (``conv.weight [out, in/groups, k, k]`` dense, half of it masked),
  1.5x the storage and 1.5x the FLOPs. The mask is a (non-persistent) boolean buffer built on the module's device
  and applied in the forward pass (``conv.weight * keep``), so masked weights get exactly zero gradient and never
  contribute, even when a loaded checkpoint holds non-zeros there; they are also zeroed at construction.

Fixes against the release: it builds on a CPU (the release allocates its mask with ``.cuda()``); the mask is a
buffer (it follows ``.to()``); ``PSGConv2d`` masks the right blocks (the release indexes output blocks with
``i + j*groups`` instead of ``j*parts + i``: for 32 groups x 4 parts only 6.25 % of the dense weights are masked,
not 50 %). ``release_compat=True`` reproduces that buggy mask, which converted PS-ResNeXt weights need if they were
trained with it; it implies ``weight_layout='release'`` because the buggy mask has no compact form.
"""
from typing import Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

__all__ = ['PSGConv2d', 'PSConv2d', 'psconv_mask', 'psconv_dilation_map']

WEIGHT_LAYOUTS = ('compact', 'release')


def psconv_mask(out_channels: int, in_channels: int, kernel_size: int, groups: int, parts: int,
                release_compat: bool = False) -> Tensor:
    """Boolean mask of the dense ``[out, in/groups, k, k]`` weight: True where the group convs already cover it.

    Args:
        release_compat (bool): Build the release's mask, whose output-block index is ``i + j*groups`` (wrong for
            ``groups > 1``; indices past the last block select nothing, as the release's slicing does).
    """
    mask = torch.zeros(out_channels, in_channels // groups, kernel_size, kernel_size, dtype=torch.bool)
    ci, co = in_channels // (groups * parts), out_channels // (groups * parts)
    for i in range(parts):
        for j in range(groups):
            for o in (i, (i + parts // 2) % parts):
                row = (o + j * groups) if release_compat else (j * parts + o)
                mask[row * co:(row + 1) * co, i * ci:(i + 1) * ci] = True
    return mask


def psconv_dilation_map(parts: int, dilation: int) -> Tensor:
    """``[parts, parts]`` dilation of (output block, input block) inside one cardinal group."""
    dmap = torch.ones(parts, parts, dtype=torch.long)
    for o in range(parts):
        dmap[o, o] = dilation
        dmap[o, (o + parts // 2) % parts] = 2 * dilation
    return dmap


class PSGConv2d(nn.Module):
    """Grouped poly-scale convolution (the release's ``PSGConv2d``; ``groups=1`` is ``PSConv2d``).

    Args:
        in_channels (int): Input channels, divisible by ``groups * parts``.
        out_channels (int): Output channels, divisible by ``groups * parts``.
        kernel_size (int): Odd kernel size. Defaults to 3.
        stride (int): Defaults to 1.
        padding (int): Padding of the dilation-1 part; must be ``(kernel_size - 1) // 2`` (the other parts pad
            with their dilation, so every part has the output size of a "same" conv). Defaults to 1.
        dilation (int): Dilation of the diagonal blocks; the shifted blocks use twice that. The PS-ResNets use 2.
            Defaults to 1 (the release's default).
        groups (int): Cardinal groups (32 in PS-ResNeXt-101 32x4d). Defaults to 1.
        parts (int): Even number of channel blocks per group. Defaults to 4.
        bias (bool): One bias of ``out_channels`` (the release gives each of its three convs one; the converter
            sums them). Defaults to False.
        weight_layout (str): ``'compact'`` (effective weights only) or ``'release'`` (the release's keys, dense
            masked ``conv``). Defaults to ``'compact'``.
        release_compat (bool): Use the release's (wrong for ``groups > 1``) mask; needs the ``'release'`` layout.
            Defaults to False.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1,
                 padding: int = 1, dilation: int = 1, groups: int = 1, parts: int = 4, bias: bool = False,
                 weight_layout: str = 'compact', release_compat: bool = False) -> None:
        super().__init__()
        name = type(self).__name__
        if parts < 2 or parts % 2:
            raise ValueError(f'{name}: parts must be an even number >= 2, got {parts}')
        if groups < 1:
            raise ValueError(f'{name}: groups must be >= 1, got {groups}')
        for arg, ch in (('in_channels', in_channels), ('out_channels', out_channels)):
            if ch % (groups * parts):
                raise ValueError(f'{name}: {arg}={ch} must be divisible by groups*parts={groups * parts}')
        if kernel_size % 2 != 1:
            raise ValueError(f'{name}: kernel_size must be odd, got {kernel_size}')
        if padding != (kernel_size - 1) // 2:
            raise ValueError(f'{name}: padding must be (kernel_size-1)//2={(kernel_size - 1) // 2} so that the '
                             f'three parts have one output size, got {padding}')
        if weight_layout not in WEIGHT_LAYOUTS:
            raise ValueError(f'{name}: weight_layout must be one of {WEIGHT_LAYOUTS}, got {weight_layout!r}')
        if release_compat and weight_layout != 'release':
            raise ValueError(f"{name}: release_compat=True needs weight_layout='release' (the release's mask has "
                             f'no compact form)')
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation, self.groups, self.parts = dilation, groups, parts
        self.weight_layout, self.release_compat = weight_layout, release_compat
        fine = groups * parts
        half = (kernel_size - 1) // 2
        self.gwconv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, half * dilation, dilation,
                                groups=fine, bias=bias)
        self.gwconv_shift = nn.Conv2d(in_channels, out_channels, kernel_size, stride, 2 * half * dilation,
                                      2 * dilation, groups=fine, bias=False)
        # channel index of the half-swapped input (per cardinal group: blocks [p/2..p-1, 0..p/2-1])
        cg = in_channels // groups
        base = torch.arange(in_channels).view(groups, 2, cg // 2)
        self.register_buffer('shift_index', base.flip(1).reshape(-1), persistent=False)
        if weight_layout == 'compact':
            self.conv = None
            rest = parts - 2
            if rest:
                self.conv_rest = nn.Conv2d(rest * in_channels, out_channels, kernel_size, stride, padding,
                                           groups=fine, bias=False)
                self.register_buffer('rest_index', self._rest_index(), persistent=False)
            else:
                self.conv_rest = None
        else:
            self.conv_rest = None
            self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, groups=groups,
                                  bias=False)
            mask = psconv_mask(out_channels, in_channels, kernel_size, groups, parts, release_compat)
            self.register_buffer('mask', mask, persistent=False)
            with torch.no_grad():
                self.conv.weight.masked_fill_(mask, 0.0)

    def _rest_index(self) -> Tensor:
        """Input channels gathered for ``conv_rest``: per (group, output block), its dilation-1 input blocks."""
        p, ci, cg = self.parts, self.in_channels // (self.groups * self.parts), self.in_channels // self.groups
        idx = []
        for j in range(self.groups):
            for o in range(p):
                for i in range(p):
                    if i not in (o, (o + p // 2) % p):
                        idx.append(torch.arange(ci) + j * cg + i * ci)
        return torch.cat(idx)

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[1] != self.in_channels:
            raise ValueError(f'{type(self).__name__}: expected {self.in_channels} input channels, got {x.shape[1]}')
        out = self.gwconv(x) + self.gwconv_shift(x.index_select(1, self.shift_index))
        if self.conv is not None:
            weight = self.conv.weight.masked_fill(self.mask, 0.0)
            out = out + F.conv2d(x, weight, None, self.stride, self.padding, 1, self.groups)
        elif self.conv_rest is not None:
            out = out + self.conv_rest(x.index_select(1, self.rest_index))
        return out

    # -- the effective operator ----------------------------------------------------------------------------------
    def effective_weight(self) -> Tuple[Tensor, Tensor]:
        """The effective dense weight ``[out, in/groups, k, k]`` and its per-block dilation ``[parts, parts]``.

        With the correct mask each (output block, input block) pair has one kernel at one dilation
        (:func:`psconv_dilation_map`); the buggy ``release_compat`` mask has overlapping parts, so it has no
        such single-kernel form and raises.
        """
        if self.release_compat and self.groups > 1:
            raise ValueError('effective_weight: the release_compat mask overlaps the group convs; no single-kernel '
                             'form exists')
        p, g = self.parts, self.groups
        ci, co = self.in_channels // (g * p), self.out_channels // (g * p)
        k = self.kernel_size
        w = torch.zeros(self.out_channels, self.in_channels // g, k, k, dtype=self.gwconv.weight.dtype,
                        device=self.gwconv.weight.device)
        if self.conv is not None:
            w += self.conv.weight.masked_fill(self.mask, 0.0)
        elif self.conv_rest is not None:
            w[~psconv_mask(self.out_channels, self.in_channels, k, g, p).to(w.device)] = \
                self.conv_rest.weight.reshape(-1)
        for j in range(g):
            for o in range(p):
                rows = slice((j * p + o) * co, (j * p + o + 1) * co)
                w[rows, o * ci:(o + 1) * ci] += self.gwconv.weight[rows]
                si = (o + p // 2) % p
                w[rows, si * ci:(si + 1) * ci] += self.gwconv_shift.weight[rows]
        return w, psconv_dilation_map(p, self.dilation)

    def effective_param_count(self) -> int:
        """Parameters of the effective operator: those of one plain grouped k x k conv (plus the bias)."""
        n = self.out_channels * (self.in_channels // self.groups) * self.kernel_size**2
        return n + (self.out_channels if self.gwconv.bias is not None else 0)

    def extra_repr(self) -> str:
        return (f'{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, '
                f'dilation={self.dilation}, groups={self.groups}, parts={self.parts}, '
                f'weight_layout={self.weight_layout!r}, release_compat={self.release_compat}')


class PSConv2d(PSGConv2d):
    """Poly-scale convolution (the release's ``PSConv2d``): :class:`PSGConv2d` with ``groups=1``.

    Args:
        in_channels, out_channels, kernel_size, stride, padding, dilation, parts, bias, weight_layout: See
            :class:`PSGConv2d`. Defaults: 3, 1, 1, 1, 4, False, ``'compact'``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1,
                 padding: int = 1, dilation: int = 1, parts: int = 4, bias: bool = False,
                 weight_layout: str = 'compact') -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, 1, parts, bias,
                         weight_layout, release_compat=False)
