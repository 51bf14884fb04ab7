"""A sparse voxel tensor shared by both sparse-conv backends (mmcv's CUDA ops and the pure-PyTorch CPU path).

The layout is mmcv 2.x's ``SparseConvTensor`` (itself spconv 1.x's): ``features`` ``[N, C]``, ``indices`` ``[N, 4]``
int32 holding ``(batch, z, y, x)``, ``spatial_shape`` ``[D, H, W]`` and ``batch_size``. ``indice_dict`` caches the
rulebooks of layers that share an ``indice_key`` (needed by inverse convolutions), as mmcv does.
"""
from typing import Dict, List, Optional, Sequence

import torch

__all__ = ['SparseTensor', 'coords_to_keys', 'keys_to_coords', 'sparse_add_union']


def coords_to_keys(indices: torch.Tensor, spatial_shape: Sequence[int]) -> torch.Tensor:
    """Row-major int64 key ``((b * D + z) * H + y) * W + x`` of each ``(b, z, y, x)`` row."""
    idx = indices.long()
    d, h, w = (int(s) for s in spatial_shape)
    return ((idx[:, 0] * d + idx[:, 1]) * h + idx[:, 2]) * w + idx[:, 3]


def keys_to_coords(keys: torch.Tensor, spatial_shape: Sequence[int]) -> torch.Tensor:
    """Inverse of :func:`coords_to_keys`; returns int32 ``[N, 4]``."""
    d, h, w = (int(s) for s in spatial_shape)
    x = keys % w
    rest = keys // w
    y = rest % h
    rest = rest // h
    z = rest % d
    b = rest // d
    return torch.stack([b, z, y, x], dim=1).int()


class SparseTensor:
    """Active voxels of a batch of 3D grids.

    Args:
        features (Tensor): ``[N, C]`` features of the active sites.
        indices (Tensor): ``[N, 4]`` integer ``(batch, z, y, x)`` of the active sites (stored as int32).
        spatial_shape (Sequence[int]): ``[D, H, W]`` of the grid.
        batch_size (int): Number of grids in the batch.
        indice_dict (dict, optional): Rulebook cache shared along a network (``indice_key`` -> rulebook).
    """

    def __init__(self, features: torch.Tensor, indices: torch.Tensor, spatial_shape: Sequence[int],
                 batch_size: int, indice_dict: Optional[Dict] = None) -> None:
        if features.dim() != 2:
            raise ValueError(f'SparseTensor: features must be [N, C], got shape {tuple(features.shape)}')
        if indices.dim() != 2 or indices.shape[1] != 4:
            raise ValueError(f'SparseTensor: indices must be [N, 4] (batch, z, y, x), got {tuple(indices.shape)}')
        if indices.shape[0] != features.shape[0]:
            raise ValueError(f'SparseTensor: {features.shape[0]} feature rows but {indices.shape[0]} indices')
        if len(spatial_shape) != 3:
            raise ValueError(f'SparseTensor: spatial_shape must be [D, H, W], got {list(spatial_shape)}')
        self.features = features
        # row-major int32: mmcv's (and spconv's) kernels read the raw buffer and ignore strides, and
        # ``Tensor.nonzero`` may return a column-major tensor
        self.indices = indices.to(torch.int32).contiguous()
        self.spatial_shape: List[int] = [int(s) for s in spatial_shape]
        self.batch_size = int(batch_size)
        self.indice_dict: Dict = {} if indice_dict is None else indice_dict

    def replace_feature(self, features: torch.Tensor) -> 'SparseTensor':
        """Same sites and rulebook cache, new features (e.g. after BN / ReLU)."""
        return SparseTensor(features, self.indices, self.spatial_shape, self.batch_size, self.indice_dict)

    @property
    def keys(self) -> torch.Tensor:
        return coords_to_keys(self.indices, self.spatial_shape)

    def dense(self, channels_first: bool = True) -> torch.Tensor:
        """``[B, C, D, H, W]`` (or channels last) with zeros at inactive sites."""
        c = self.features.shape[1]
        out = self.features.new_zeros((self.batch_size * self.spatial_size, c))
        out = out.index_copy(0, self.keys, self.features)
        out = out.view(self.batch_size, *self.spatial_shape, c)
        return out.permute(0, 4, 1, 2, 3).contiguous() if channels_first else out

    @property
    def spatial_size(self) -> int:
        d, h, w = self.spatial_shape
        return d * h * w

    @property
    def sparsity(self) -> float:
        """Fraction of active sites."""
        return self.indices.shape[0] / max(1, self.spatial_size * self.batch_size)

    @classmethod
    def from_dense(cls, dense: torch.Tensor, mask: Optional[torch.Tensor] = None) -> 'SparseTensor':
        """Sites where ``mask`` (``[B, D, H, W]``; default: any channel non-zero) holds, from ``[B, C, D, H, W]``."""
        if dense.dim() != 5:
            raise ValueError(f'from_dense: expected [B, C, D, H, W], got {tuple(dense.shape)}')
        if mask is None:
            mask = (dense != 0).any(dim=1)
        idx = mask.nonzero(as_tuple=False)
        feats = dense.permute(0, 2, 3, 4, 1)[mask]
        return cls(feats, idx.int(), list(dense.shape[2:]), dense.shape[0])

    def __repr__(self) -> str:
        return (f'SparseTensor(N={self.indices.shape[0]}, C={self.features.shape[1]}, '
                f'spatial_shape={self.spatial_shape}, batch_size={self.batch_size})')


def sparse_add_union(a: SparseTensor, b: SparseTensor) -> SparseTensor:
    """Sum of two sparse tensors on the union of their sites (the release's ``Add2_fun`` in ESSCNet's decoder).

    Both must share ``spatial_shape``, ``batch_size`` and channel count. Output sites are sorted by key.
    """
    if a.spatial_shape != b.spatial_shape or a.batch_size != b.batch_size:
        raise ValueError(f'sparse_add_union: shapes differ ({a.spatial_shape}, B={a.batch_size}) vs '
                         f'({b.spatial_shape}, B={b.batch_size})')
    if a.features.shape[1] != b.features.shape[1]:
        raise ValueError(f'sparse_add_union: channels differ ({a.features.shape[1]} vs {b.features.shape[1]})')
    keys = torch.cat([a.keys, b.keys])
    uniq, inverse = torch.unique(keys, return_inverse=True)
    feats = a.features.new_zeros((uniq.numel(), a.features.shape[1]))
    feats = feats.index_add(0, inverse, torch.cat([a.features, b.features]))
    return SparseTensor(feats, keys_to_coords(uniq, a.spatial_shape), a.spatial_shape, a.batch_size,
                        a.indice_dict)
