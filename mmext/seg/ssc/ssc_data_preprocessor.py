"""Batch the flipped-TSDF volumes of an SSC dataset into one sparse input tensor."""
from typing import Optional

import torch
from mmengine.model import BaseDataPreprocessor

from ...ops.sparse import SparseTensor
from ...registry import register

__all__ = ['SSCDataPreprocessor']


@register('MODELS', scopes=['mmseg'])
class SSCDataPreprocessor(BaseDataPreprocessor):
    """``inputs`` (a list of ``[X, Y, Z]`` flipped-TSDF volumes) -> a :class:`SparseTensor` whose sites are the
    non-zero voxels (1 channel: the flipped TSDF value), indices ``(batch, X, Y, Z)``; data samples are moved to
    the model's device.

    Args:
        max_sites (int, optional): Raise a clear error beyond this many active voxels per batch.
    """

    def __init__(self, max_sites: Optional[int] = None) -> None:
        super().__init__()
        self.max_sites = max_sites

    def forward(self, data: dict, training: bool = False) -> dict:
        data = self.cast_data(data)
        vols = data['inputs']
        if isinstance(vols, torch.Tensor):
            vols = list(vols) if vols.dim() == 4 else [vols]
        shapes = {tuple(v.shape) for v in vols}
        if len(shapes) != 1 or len(next(iter(shapes))) != 3:
            raise ValueError(f'SSCDataPreprocessor: inputs must be [X, Y, Z] volumes of one shape, got {shapes}')
        dense = torch.stack([v.float() for v in vols])
        mask = dense != 0
        idx = mask.nonzero().int()
        if self.max_sites is not None and idx.shape[0] > self.max_sites:
            raise ValueError(f'SSCDataPreprocessor: {idx.shape[0]} active voxels > max_sites={self.max_sites}')
        x = SparseTensor(dense[mask][:, None], idx, list(dense.shape[1:]), dense.shape[0])
        return dict(inputs=x, data_samples=data.get('data_samples'))
