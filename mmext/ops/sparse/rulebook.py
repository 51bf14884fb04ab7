"""Pure-PyTorch rulebooks for sparse convolution (the CPU backend; works on any device).

A rulebook lists, for each kernel offset ``k`` (row-major over ``(kz, ky, kx)``, the order of mmcv's/spconv's
``indice_pairs``), the pairs ``(input row, output row)`` it connects. Offsets follow mmcv's CUDA kernels
(``spconv/geometry.h`` in mmcv 2.1): a regular or submanifold conv reads input ``o * s - p + k * d`` for output
``o`` (cross-correlation, like ``nn.Conv3d``; submanifold uses ``p = k // 2``, ``s = 1``), a transposed conv
writes output ``i * s - p + k * d`` from input ``i`` (like ``nn.ConvTranspose3d``).

Construction is vectorised over all offsets at once and costs O(K N) cheap integer ops, no per-offset Python work:

* submanifold: every site gets an int64 key in a grid padded by the kernel's reach, so the neighbour at offset
  ``k`` is ``key + delta_k`` (one broadcast add, no bounds test); keys are looked up in a dense index table (as
  mmcv's ``gridOut``) or, on grids above :data:`DENSE_TABLE_MAX_SITES`, by sort + ``searchsorted``. For a
  symmetric kernel only half of the offsets are looked up: the centre is the identity and offset ``K-1-k`` holds the
  pairs of ``k`` reversed (as spconv does).
* strided / transposed: the candidate output coordinate along each axis depends on one coordinate and one kernel
  index, so validity and output keys are ``[kD, kH, kW, N]`` broadcasts of three small ``[k, N]`` tables; unique
  output sites come from a dense occupancy table (or ``torch.unique`` on huge grids).

Pairs are stored concatenated, segment by segment (one segment per non-empty offset), which is what
``gather_gemm_scatter`` consumes: one gather, one small GEMM per segment, one scatter-add.
"""
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

import torch

from .sparse_tensor import keys_to_coords

__all__ = ['Rulebook', 'conv_output_shape', 'deconv_output_shape', 'build_rulebook', 'kernel_offsets',
           'DENSE_TABLE_MAX_SITES']

#: grids up to this many sites (batch x padded volume) use a dense int64 index table for lookups, as mmcv's CUDA
#: kernels do (``gridOut``); larger ones use sorted keys + ``searchsorted`` (memory O(active sites))
DENSE_TABLE_MAX_SITES = 1 << 25


@dataclass
class Rulebook:
    """Pairs of a sparse conv, concatenated by kernel offset, plus the output sites.

    Attributes:
        in_rows, out_rows: ``[P]`` int64 input / output rows; segment ``j`` is rows
            ``starts[j] : starts[j] + counts[j]`` and belongs to kernel offset ``offsets[j]``.
        offsets, counts: kernel offset id and pair count of each segment (non-empty segments only).
        kernel_volume: ``K``, the number of kernel offsets.
        out_indices: ``[M, 4]`` int32 output sites. out_shape: spatial shape of the output.
        in_indices: ``[N, 4]`` input sites (an inverse conv produces these). in_shape: spatial shape of the input.
        identity_offset: submanifold only: the offset whose pairs are ``(n, n)`` for every site (the kernel
            centre), kept out of ``in_rows``/``out_rows`` and computed as one plain matrix product.
    """
    in_rows: torch.Tensor
    out_rows: torch.Tensor
    offsets: List[int]
    counts: List[int]
    kernel_volume: int
    out_indices: torch.Tensor
    out_shape: List[int]
    in_indices: torch.Tensor
    in_shape: List[int]
    identity_offset: Optional[int] = None
    starts: List[int] = field(init=False)

    def __post_init__(self) -> None:
        self.starts, s = [], 0
        for c in self.counts:
            self.starts.append(s)
            s += c

    @property
    def segments(self) -> List[Tuple[int, int, int]]:
        """``(start, count, offset)`` of each stored segment."""
        return list(zip(self.starts, self.counts, self.offsets))

    @property
    def pairs(self) -> List[Tuple[torch.Tensor, torch.Tensor]]:
        """``K`` tuples ``(in_rows, out_rows)``, one per kernel offset (empty ones included), as mmcv's pairs."""
        empty = self.in_rows.new_zeros(0)
        out = [(empty, empty)] * self.kernel_volume
        for s, n, k in self.segments:
            out[k] = (self.in_rows[s:s + n], self.out_rows[s:s + n])
        if self.identity_offset is not None:
            rows = torch.arange(self.in_indices.shape[0], device=self.in_rows.device)
            out[self.identity_offset] = (rows, rows)
        return out

    def num_pairs(self) -> int:
        """Number of (input, output) multiply-accumulates per channel pair (the FLOP count / (2 Cin Cout))."""
        ident = self.in_indices.shape[0] if self.identity_offset is not None else 0
        return int(sum(self.counts)) + ident

    def inverted(self) -> 'Rulebook':
        """The rulebook of the paired inverse conv: outputs become inputs and back."""
        return Rulebook(self.out_rows, self.in_rows, self.offsets, self.counts, self.kernel_volume, self.in_indices,
                        self.in_shape, self.out_indices, self.out_shape, self.identity_offset)

    def restricted(self, keep: Sequence[bool]) -> 'Rulebook':
        """Only the offsets with ``keep[k]`` (e.g. SGC's same-group offsets); the others get no pairs."""
        if len(keep) != self.kernel_volume:
            raise ValueError(f'Rulebook.restricted: {len(keep)} flags for {self.kernel_volume} kernel offsets')
        segs = [(s, n, k) for s, n, k in self.segments if keep[k]]
        ident = self.identity_offset if self.identity_offset is not None and keep[self.identity_offset] else None
        if len(segs) == len(self.offsets):
            in_rows, out_rows = self.in_rows, self.out_rows
        elif segs:
            in_rows = torch.cat([self.in_rows[s:s + n] for s, n, _ in segs])
            out_rows = torch.cat([self.out_rows[s:s + n] for s, n, _ in segs])
        else:
            in_rows = out_rows = self.in_rows.new_zeros(0)
        return Rulebook(in_rows, out_rows, [k for _, _, k in segs], [n for _, n, _ in segs], self.kernel_volume,
                        self.out_indices, self.out_shape, self.in_indices, self.in_shape, ident)


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


def _segments(rows: torch.Tensor, offset_ids: Sequence[int]) -> Tuple[torch.Tensor, torch.Tensor, List, List]:
    """Concatenated pairs from a ``[K', N]`` table of partner rows (``-1`` = none) whose row ``j`` belongs to
    kernel offset ``offset_ids[j]`` and whose column is the own row: returns (partner rows, own rows, offsets,
    counts) with the empty offsets left out."""
    valid = rows >= 0
    counts = valid.sum(1).tolist()
    own = valid.nonzero()[:, 1]
    partner = rows[valid]
    keep = [j for j, c in enumerate(counts) if c > 0]
    return partner, own, [int(offset_ids[j]) for j in keep], [int(counts[j]) for j in keep]


def _lookup(keys: torch.Tensor, total: int, query: torch.Tensor) -> torch.Tensor:
    """Row of each ``query`` key among the unique ``keys`` (``-1`` when absent); all keys lie in ``[0, total)``."""
    if total <= DENSE_TABLE_MAX_SITES:
        table = torch.full((total, ), -1, dtype=torch.int64, device=keys.device)
        table[keys] = torch.arange(keys.numel(), device=keys.device)
        return table[query]
    if keys.numel() == 0:
        return torch.full_like(query, -1)
    sorted_keys, order = torch.sort(keys)
    pos = torch.searchsorted(sorted_keys, query).clamp_(max=sorted_keys.numel() - 1)
    return torch.where(sorted_keys[pos] == query, order[pos], torch.full_like(pos, -1))


def _subm_rulebook(indices: torch.Tensor, in_shape: List[int], kernel: List[int], dilation: List[int]) -> Rulebook:
    device = indices.device
    idx = indices.long()
    n = idx.shape[0]
    pad = [k // 2 for k in kernel]
    lo = pad  # the reach of the window below / above a site along each axis
    hi = [max(0, (k - 1) * d - p) for k, d, p in zip(kernel, dilation, pad)]
    padded = [s + a + b for s, a, b in zip(in_shape, lo, hi)]
    batch = int(idx[:, 0].max()) + 1 if n else 1
    keys = ((idx[:, 0] * padded[0] + idx[:, 1] + lo[0]) * padded[1] + idx[:, 2] + lo[1]) * padded[2] \
        + idx[:, 3] + lo[2]
    rel = [[j * d - p for j in range(k)] for k, d, p in zip(kernel, dilation, pad)]  # relative offsets per axis
    deltas = [(oz * padded[1] + oy) * padded[2] + ox for oz in rel[0] for oy in rel[1] for ox in rel[2]]
    k_count = len(deltas)
    centre = next((k for k, dlt in enumerate(deltas) if dlt == 0), None)
    symmetric = centre is not None and all(a == -b for a, b in zip(deltas, reversed(deltas)))
    look = list(range(centre)) if symmetric else [k for k in range(k_count) if k != centre]
    if not look or n == 0:
        empty = idx.new_zeros(0)
        return Rulebook(empty, empty, [], [], k_count, indices, in_shape, indices, in_shape, centre)
    query = keys[None] + torch.tensor([deltas[k] for k in look], device=device)[:, None]  # [K', N]
    partner = _lookup(keys, batch * padded[0] * padded[1] * padded[2], query)
    in_rows, out_rows, offs, counts = _segments(partner, look)
    if symmetric:  # offset K-1-k connects the same sites as k, reversed
        in_rows, out_rows = torch.cat([in_rows, out_rows]), torch.cat([out_rows, in_rows])
        offs, counts = offs + [k_count - 1 - k for k in offs], counts + counts
    return Rulebook(in_rows, out_rows, offs, counts, k_count, indices, in_shape, indices, in_shape, centre)


def _unique_keys(keys: torch.Tensor, total: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """Sorted unique keys in ``[0, total)`` and the rank of each input key among them (as ``torch.unique``)."""
    if total > DENSE_TABLE_MAX_SITES:
        return torch.unique(keys, return_inverse=True)
    occupied = torch.zeros(total, dtype=torch.bool, device=keys.device)
    occupied[keys] = True
    uniq = occupied.nonzero()[:, 0]
    rank = torch.empty(total, dtype=torch.int64, device=keys.device)
    rank[uniq] = torch.arange(uniq.numel(), device=keys.device)
    return uniq, rank[keys]


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
    indices = indices.contiguous()
    if subm:
        return _subm_rulebook(indices, in_shape, kernel, dilation)
    device = indices.device
    idx = indices.long()
    if transposed:
        out_shape = deconv_output_shape(in_shape, kernel, stride, padding, dilation, output_padding)
    else:
        out_shape = conv_output_shape(in_shape, kernel, stride, padding, dilation)
    if any(s <= 0 for s in out_shape):
        raise ValueError(f'build_rulebook: input {in_shape} gives an empty output shape {out_shape}')
    # per axis: candidate output coordinate of every (kernel index, site), and whether it is a valid output
    cand, ok = [], []
    for axis in range(3):
        j = torch.arange(kernel[axis], device=device)[:, None] * dilation[axis]
        c = idx[None, :, axis + 1]
        if transposed:  # output = i * s - p + j * d
            o = c * stride[axis] - padding[axis] + j
            v = torch.ones_like(o, dtype=torch.bool)
        else:  # o * s = i + p - j * d
            num = c + padding[axis] - j
            v = num % stride[axis] == 0
            o = torch.div(num, stride[axis], rounding_mode='floor')
        v &= (o >= 0) & (o < out_shape[axis])
        cand.append(o)
        ok.append(v)
    kz, ky, kx = kernel
    n = idx.shape[0]
    valid = (ok[0].view(kz, 1, 1, n) & ok[1].view(1, ky, 1, n) & ok[2].view(1, 1, kx, n)).reshape(kz * ky * kx, n)
    keys = (((idx[:, 0] * out_shape[0]).view(1, 1, 1, n) + cand[0].view(kz, 1, 1, n)) * out_shape[1]
            + cand[1].view(1, ky, 1, n)) * out_shape[2] + cand[2].view(1, 1, kx, n)
    keys = keys.reshape(kz * ky * kx, n)
    batch = int(idx[:, 0].max()) + 1 if n else 1
    uniq, rank = _unique_keys(keys[valid], batch * out_shape[0] * out_shape[1] * out_shape[2])
    out_of = torch.full_like(keys, -1)
    out_of[valid] = rank
    out_rows, in_rows, offs, counts = _segments(out_of, range(kz * ky * kx))
    return Rulebook(in_rows, out_rows, offs, counts, kz * ky * kx, keys_to_coords(uniq, out_shape), out_shape,
                    indices, in_shape)
