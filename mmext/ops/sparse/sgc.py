"""Spatial group convolution (SGC) on submanifold sparse convolution.

"Efficient Semantic Scene Completion Network with Spatial Group Convolution", Zhang et al., ECCV 2018,
arXiv 1907.05091. Active voxels are split into ``G`` groups by ``(a*x + b*y + c*z) mod G`` (the release's
pattern4: ``(a, b, c) = (1, 2, 3)``, ``G = 4``); a submanifold conv then connects each voxel only to neighbours of
its own group, so the conv does about ``1/G`` of the multiply-adds. As in the release (``unet_add.py``), the
groups can be made by shifting each voxel's batch index by ``group * batch_size``, running the ordinary
submanifold conv on that tensor (same feature rows) and putting the features back under the original sites; this
is how SGC runs on mmcv's CUDA ops. Because the group of the neighbour at offset ``o`` is
``(g + a*ox + b*oy + c*oz) mod G``, two voxels share a group exactly when their offset satisfies
``(a*ox + b*oy + c*oz) mod G == 0``: on the PyTorch backend SGC is the plain submanifold rulebook restricted to
those offsets (7 of 27 for pattern4), which reuses the level's rulebook instead of building a grouped one.
Axes: ``x``, ``y``, ``z`` are the last, middle and first spatial index of ``(batch, z, y, x)``.
"""
from typing import List, Optional, Sequence

import torch

from .functional import resolve_backend, sparse_conv3d
from .modules import IntOr3, SpSubMConv3d
from .sparse_tensor import SparseTensor

__all__ = ['sgc_groups', 'sgc_offset_mask', 'group_sparse_tensor', 'SGCSubMConv3d']


def sgc_groups(indices: torch.Tensor, pattern: Sequence[int] = (1, 2, 3), num_groups: int = 4) -> torch.Tensor:
    """Group id ``(a*x + b*y + c*z) mod G`` of each ``(batch, z, y, x)`` row."""
    if len(pattern) != 3:
        raise ValueError(f'SGC pattern must be 3 ints (a, b, c) for (a*x + b*y + c*z) mod G, got {pattern!r}')
    if int(num_groups) < 1:
        raise ValueError(f'SGC num_groups must be >= 1, got {num_groups}')
    a, b, c = (int(v) for v in pattern)
    idx = indices.long()
    return (a * idx[:, 3] + b * idx[:, 2] + c * idx[:, 1]) % int(num_groups)


def sgc_offset_mask(kernel: Sequence[int], dilation: Sequence[int] = (1, 1, 1), pattern: Sequence[int] = (1, 2, 3),
                    num_groups: int = 4) -> List[bool]:
    """For each submanifold kernel offset (row-major ``(kz, ky, kx)``, relative offset ``j * d - k // 2``), whether
    it joins voxels of the same group: ``(a*ox + b*oy + c*oz) mod G == 0``."""
    a, b, c = (int(v) for v in pattern)
    rel = [[j * d - k // 2 for j in range(k)] for k, d in zip(kernel, dilation)]
    return [(a * ox + b * oy + c * oz) % int(num_groups) == 0 for oz in rel[0] for oy in rel[1] for ox in rel[2]]


def group_sparse_tensor(x: SparseTensor, pattern: Sequence[int] = (1, 2, 3), num_groups: int = 4,
                        key_suffix: str = 'sgc') -> SparseTensor:
    """The same feature rows with batch ``b + group * B`` and batch size ``G * B`` (own rulebook cache)."""
    grp = sgc_groups(x.indices, pattern, num_groups)
    idx = x.indices.clone()
    idx[:, 0] = (idx[:, 0].long() + grp * x.batch_size).int()
    cache = x.indice_dict.setdefault(f'__{key_suffix}_{tuple(pattern)}_{num_groups}', {})
    return SparseTensor(x.features, idx, x.spatial_shape, x.batch_size * int(num_groups), cache)


class SGCSubMConv3d(SpSubMConv3d):
    """Submanifold 3D conv restricted to spatial groups (SGC). ``num_groups=1`` is a plain submanifold conv.

    Args:
        pattern (Sequence[int]): ``(a, b, c)``. Defaults to the release's ``(1, 2, 3)``.
        num_groups (int): ``G``. Defaults to 4 (pattern4).
        Other args as :class:`SpSubMConv3d`; ``indice_key`` caches the grouped rulebook.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntOr3 = 3, dilation: IntOr3 = 1,
                 bias: bool = True, pattern: Sequence[int] = (1, 2, 3), num_groups: int = 4,
                 indice_key: Optional[str] = None, backend: str = 'auto') -> None:
        super().__init__(in_channels, out_channels, kernel_size, dilation, bias, indice_key, backend)
        sgc_groups(torch.zeros(1, 4, dtype=torch.int32), pattern, num_groups)  # validates
        self.pattern = tuple(int(v) for v in pattern)
        self.num_groups = int(num_groups)
        self.offset_mask = sgc_offset_mask(self.kernel_size, self.dilation, self.pattern, self.num_groups)

    def forward(self, x: SparseTensor) -> SparseTensor:
        if self.num_groups == 1:
            return super().forward(x)
        if not isinstance(x, SparseTensor):
            raise TypeError(f'SGCSubMConv3d expects a SparseTensor, got {type(x).__name__}')
        if resolve_backend(self.backend, x.features) == 'torch':  # the level's rulebook, same-group offsets only
            out, self.last_num_pairs = sparse_conv3d(
                x, self.weight, self.bias, self.kernel_size, self.stride, self.padding, self.dilation, subm=True,
                indice_key=self.indice_key, backend='torch', offset_mask=self.offset_mask)
            return out
        out = super().forward(group_sparse_tensor(x, self.pattern, self.num_groups))
        return SparseTensor(out.features, x.indices, x.spatial_shape, x.batch_size, x.indice_dict)

    def extra_repr(self) -> str:
        return super().extra_repr() + f', pattern={self.pattern}, num_groups={self.num_groups}'
