"""Pure-PyTorch rulebooks for sparse convolution (the CPU backend; works on any device).

A rulebook lists, for each kernel offset ``k`` (row-major over ``(kz, ky, kx)``, the order of mmcv's/spconv's
``indice_pairs``), the pairs ``(input row, output row)`` it connects. Offsets follow mmcv's CUDA kernels
(``spconv/geometry.h`` in mmcv 2.1): a regular or submanifold conv reads input ``o * s - p + k * d`` for output
``o`` (cross-correlation, like ``nn.Conv3d``; submanifold uses ``p = k // 2``, ``s = 1``), a transposed conv
writes output ``i * s - p + k * d`` from input ``i`` (like ``nn.ConvTranspose3d``). Site lookup uses int64 keys: a dense
index table on grids up to ``DENSE_TABLE_MAX_SITES`` (as mmcv's ``gridOut``), sort + ``searchsorted`` beyond; the
multiply-adds grow with the number of active sites, not with the grid volume.
"""
from dataclasses import dataclass
from typing import List, Sequence, Tuple

import torch

from .sparse_tensor import coords_to_keys, keys_to_coords

__all__ = ['Rulebook', 'conv_output_shape', 'deconv_output_shape', 'build_rulebook', 'kernel_offsets']


@dataclass
class Rulebook:
    """Pairs per kernel offset plus the output sites.

    Attributes:
        pairs: ``K`` tuples ``(in_rows, out_rows)`` of int64 tensors.
        out_indices: ``[M, 4]`` int32 output sites.
        out_shape: spatial shape of the output.
        in_indices: ``[N, 4]`` input sites (an inverse conv produces these).
        in_shape: spatial shape of the input.
    """
    pairs: List[Tuple[torch.Tensor, torch.Tensor]]
    out_indices: torch.Tensor
    out_shape: List[int]
    in_indices: torch.Tensor
    in_shape: List[int]

    def num_pairs(self) -> int:
        """Number of (input, output) multiply-accumulates per channel pair (the FLOP count / (2 Cin Cout))."""
        return int(sum(p[0].numel() for p in self.pairs))

    def inverted(self) -> 'Rulebook':
        """The rulebook of the paired inverse conv: outputs become inputs and back."""
        return Rulebook([(o, i) for i, o in self.pairs], self.in_indices, self.in_shape, self.out_indices,
                        self.out_shape)


def _triple(v) -> List[int]:
    return [int(x) for x in v] if isinstance(v, (list, tuple)) else [int(v)] * 3


def conv_output_shape(shape, kernel, stride, padding, dilation) -> List[int]:
    """Output size of a (non-submanifold) sparse conv, as mmcv's ``get_conv_output_size``."""
    return [(i + 2 * p - d * (k - 1) - 1) // s + 1
            for i, k, s, p, d in zip(shape, _triple(kernel), _triple(stride), _triple(padding), _triple(dilation))]


def deconv_output_shape(shape, kernel, stride, padding, dilation, output_padding=0) -> List[int]:
    """Output size of a transposed sparse conv, as mmcv's ``get_deconv_output_size``."""
    return [(i - 1) * s - 2 * p + k + op for i, k, s, p, op in
            zip(shape, _triple(kernel), _triple(stride), _triple(padding), _triple(output_padding))]


def kernel_offsets(kernel: Sequence[int], device=None) -> torch.Tensor:
    """``[K, 3]`` kernel offsets in row-major ``(kz, ky, kx)`` order."""
    kz, ky, kx = _triple(kernel)
    grid = torch.meshgrid(torch.arange(kz, device=device), torch.arange(ky, device=device),
                          torch.arange(kx, device=device), indexing='ij')
    return torch.stack([g.reshape(-1) for g in grid], dim=1)


#: grids up to this many sites (batch x volume) use a dense int32 index table for lookups, as mmcv's CUDA kernels
#: do (``gridOut``); larger ones use sorted keys + ``searchsorted`` (memory O(active sites))
DENSE_TABLE_MAX_SITES = 1 << 25


class _KeyIndex:
    """Row of each key among a set of unique keys (``-1`` when absent)."""

    def __init__(self, keys: torch.Tensor, total: int) -> None:
        self.table = None
        if total <= DENSE_TABLE_MAX_SITES:
            self.table = torch.full((total, ), -1, dtype=torch.int64, device=keys.device)
            self.table[keys] = torch.arange(keys.numel(), device=keys.device)
        else:
            self.sorted_keys, self.order = torch.sort(keys)

    def __call__(self, query: torch.Tensor) -> torch.Tensor:
        if self.table is not None:  # out-of-grid queries are masked by the caller; keep them in range here
            return self.table[query.clamp(0, self.table.numel() - 1)]
        if self.sorted_keys.numel() == 0:
            return torch.full_like(query, -1)
        pos = torch.searchsorted(self.sorted_keys, query).clamp_(max=self.sorted_keys.numel() - 1)
        found = self.sorted_keys[pos] == query
        return torch.where(found, self.order[pos], torch.full_like(pos, -1))


def build_rulebook(indices: torch.Tensor, spatial_shape: Sequence[int], kernel, stride=1, padding=0, dilation=1,
                   subm: bool = False, transposed: bool = False, output_padding=0) -> Rulebook:
    """Build the rulebook of a 3D sparse (submanifold / strided / transposed) conv or max-pool.

    Args:
        indices (Tensor): ``[N, 4]`` ``(batch, z, y, x)`` input sites (unique).
        spatial_shape (Sequence[int]): input ``[D, H, W]``.
        kernel, stride, padding, dilation: int or 3 ints. ``subm`` ignores ``stride``/``padding`` (mmcv uses
            ``stride 1``, ``padding k // 2``).
        subm (bool): Submanifold: outputs are exactly the input sites.
        transposed (bool): Transposed conv (generative up-sampling).
        output_padding: Transposed conv only.
    """
    kernel, dilation = _triple(kernel), _triple(dilation)
    stride, padding = ([1, 1, 1], [k // 2 for k in kernel]) if subm else (_triple(stride), _triple(padding))
    if any(s != 1 and d != 1 for s, d in zip(stride, dilation)):
        raise ValueError(f'build_rulebook: stride {stride} with dilation {dilation} is not supported (as in mmcv)')
    in_shape = [int(s) for s in spatial_shape]
    device = indices.device
    idx = indices.long()
    offs = kernel_offsets(kernel, device)  # [K, 3]
    k_count = offs.shape[0]
    dil = torch.tensor(dilation, device=device)
    pad = torch.tensor(padding, device=device)
    st = torch.tensor(stride, device=device)
    xyz = idx[:, 1:]
    if subm:
        out_shape = in_shape
        keys = coords_to_keys(idx, in_shape)
        batch = int(idx[:, 0].max()) + 1 if idx.shape[0] else 1
        lookup = _KeyIndex(keys, batch * in_shape[0] * in_shape[1] * in_shape[2])
        # output o (= an input site) reads input o - p + k * d
        nb = xyz[None] - pad + offs[:, None] * dil  # [K, N, 3]
        inside = ((nb >= 0) & (nb < torch.tensor(in_shape, device=device))).all(-1)
        nb_idx = torch.cat([idx[:, :1].expand(k_count, -1, 1), nb], -1).reshape(-1, 4)
        rows = lookup(coords_to_keys(nb_idx.clamp(min=0), in_shape)).view(k_count, -1)
        rows = torch.where(inside, rows, torch.full_like(rows, -1))
        out_rows = torch.arange(idx.shape[0], device=device)
        pairs = []
        for k in range(k_count):
            valid = rows[k] >= 0
            pairs.append((rows[k][valid], out_rows[valid]))
        return Rulebook(pairs, indices.int(), out_shape, indices.int(), in_shape)
    if transposed:
        out_shape = deconv_output_shape(in_shape, kernel, stride, padding, dilation, output_padding)
        cand = xyz[None] * st - pad + offs[:, None] * dil  # [K, N, 3]
        valid = torch.ones(cand.shape[:2], dtype=torch.bool, device=device)
    else:
        out_shape = conv_output_shape(in_shape, kernel, stride, padding, dilation)
        num = xyz[None] + pad - offs[:, None] * dil  # o * s = i + p - k * d
        valid = ((num % st) == 0).all(-1)
        cand = torch.div(num, st, rounding_mode='floor')
    valid &= ((cand >= 0) & (cand < torch.tensor(out_shape, device=device))).all(-1)
    if any(s <= 0 for s in out_shape):
        raise ValueError(f'build_rulebook: input {in_shape} gives an empty output shape {out_shape}')
    cand_idx = torch.cat([idx[:, :1].expand(k_count, -1, 1), cand], -1)  # [K, N, 4]
    out_keys_all = coords_to_keys(cand_idx.reshape(-1, 4).clamp(min=0), out_shape).view(k_count, -1)
    uniq, inverse = torch.unique(out_keys_all[valid], return_inverse=True)
    out_rows = torch.full_like(out_keys_all, -1)
    out_rows[valid] = inverse
    in_rows = torch.arange(idx.shape[0], device=device)
    pairs = []
    for k in range(k_count):
        v = valid[k]
        pairs.append((in_rows[v], out_rows[k][v]))
    return Rulebook(pairs, keys_to_coords(uniq, out_shape), out_shape, indices.int(), in_shape)
