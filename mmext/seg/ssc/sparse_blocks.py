"""Building blocks of ESSCNet on mmext's sparse-conv backend (SparseConvNet-style pre-activation blocks)."""
from typing import Optional, Sequence

import torch
from torch import nn

from ...ops.sparse import SGCSubMConv3d, SparseTensor, SpSubMConv3d, build_rulebook

__all__ = ['SparseBNReLU', 'SparseResBlock', 'prune_to_predicted']


class SparseBNReLU(nn.Module):
    """BatchNorm1d + ReLU on the active sites (SCN ``BatchNormReLU``); an empty tensor passes through."""

    def __init__(self, channels: int, momentum: float = 0.1) -> None:
        super().__init__()
        self.bn = nn.BatchNorm1d(channels, momentum=momentum)

    def forward(self, x: SparseTensor) -> SparseTensor:
        f = x.features
        if f.shape[0] == 0 or (self.training and f.shape[0] == 1):
            return x.replace_feature(torch.relu(f))
        return x.replace_feature(torch.relu(self.bn(f)))


class SparseResBlock(nn.Module):
    """``BN-ReLU-subm3-BN-ReLU-subm3`` plus a shortcut (identity, or a 1x1 "NiN" linear map when the width
    changes), as ESSCNet's residual blocks. ``num_groups > 1`` makes both convs spatial group convs (SGC)."""

    def __init__(self, in_channels: int, out_channels: int, num_groups: int = 1,
                 pattern: Sequence[int] = (1, 2, 3), indice_key: Optional[str] = None, backend: str = 'auto') -> None:
        super().__init__()
        self.pre1 = SparseBNReLU(in_channels)
        self.conv1 = SGCSubMConv3d(in_channels, out_channels, 3, bias=False, pattern=pattern,
                                   num_groups=num_groups, indice_key=indice_key, backend=backend)
        self.pre2 = SparseBNReLU(out_channels)
        self.conv2 = SGCSubMConv3d(out_channels, out_channels, 3, bias=False, pattern=pattern,
                                   num_groups=num_groups, indice_key=indice_key, backend=backend)
        self.shortcut = None if in_channels == out_channels else SpSubMConv3d(in_channels, out_channels, 1,
                                                                              bias=False, backend=backend)

    def forward(self, x: SparseTensor) -> SparseTensor:
        h = self.conv2(self.pre2(self.conv1(self.pre1(x))))
        skip = x.features if self.shortcut is None else self.shortcut(x).features
        return h.replace_feature(h.features + skip)


def prune_to_predicted(x: SparseTensor, logits: torch.Tensor, kernel: int = 3) -> SparseTensor:
    """Keep the sites with a site predicted non-empty (argmax > 0) in their ``kernel``³ neighbourhood
    (the release's coarse-to-fine ``scn.abstract`` step). ``logits`` are ``[N, C]`` on ``x``'s sites."""
    occ = (logits.detach().argmax(1) > 0).float()[:, None]
    rb = build_rulebook(x.indices, x.spatial_shape, kernel, subm=True)
    hit = occ.clone() if rb.identity_offset is not None else torch.zeros_like(occ)
    hit.index_add_(0, rb.out_rows, occ.index_select(0, rb.in_rows))
    keep = hit[:, 0] > 0
    return SparseTensor(x.features[keep], x.indices[keep], x.spatial_shape, x.batch_size, x.indice_dict)
