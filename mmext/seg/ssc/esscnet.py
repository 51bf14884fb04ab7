"""ESSCNet: efficient semantic scene completion on sparse convolution with spatial group convolution.

"Efficient Semantic Scene Completion Network with Spatial Group Convolution", Jiahui Zhang, Hao Zhao, Anbang Yao,
Yurong Chen, Li Zhang, Hongen Liao, ECCV 2018, arXiv 1907.05091; release zjhthu/SGC-Release
(``ssc/sgc-pattern4/sscnet.py``, ``unet_add.py``). Layout, as the release:

* stage 1: SGC submanifold 3³ conv 1 -> 16, sparse max-pool (3, stride 2);
* stage 2: SGC residual block 16 -> 64 (1x1 NiN shortcut), max-pool (3, stride 2) -> 1/4 resolution;
* a sparse UNet at 64 channels, 2 residual blocks per level: level 0 (``flat``) and level 1 (``down1``) use SGC,
  deeper levels plain; down-sampling by 2x2x2 stride-2 sparse convs;
* decoder: the deepest up step ('v') is an inverse conv back onto the encoder's sites, added to the skip; the
  others ('c') are generative transposed convs creating all 8 children (completion), union-added with the skip;
  the blocks of the last two up steps use SGC;
* the 1/8 decoder level predicts 12 classes, then is pruned to the neighbourhood (3³) of voxels predicted
  occupied (coarse-to-fine); the 1/4 level predicts 12 classes; both are made dense for the loss.

Deviations, for grids that are not 2^k: the max-pools use padding 1 (so the 1/4 grid is exactly a quarter of the
input, 240x144x240 -> 60x36x60) and generative up-sampling uses the ``output_padding`` that restores the skip's
size; the number of UNet levels is configurable (the release uses 6; Shapes-3D's 64x32x64 grid allows 4).
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.model import BaseModel
from mmengine.structures import BaseDataElement
from torch import nn

from ...ops.sparse import (SGCSubMConv3d, SparseTensor, SpConv3d, SpConvTranspose3d, SpInverseConv3d, SpMaxPool3d,
                           SpSubMConv3d, sparse_add_union)
from ...registry import register
from .sparse_blocks import SparseBNReLU, SparseResBlock, prune_to_predicted

__all__ = ['ESSCNet']


def _blocks(n: int, cin: int, cout: int, groups: int, pattern, key: str, backend: str) -> nn.ModuleList:
    return nn.ModuleList([SparseResBlock(cin if i == 0 else cout, cout, groups, pattern, key, backend)
                          for i in range(n)])


def _run(blocks: nn.ModuleList, x: SparseTensor) -> SparseTensor:
    for b in blocks:
        x = b(x)
    return x


@register('MODELS', scopes=['mmseg'])
class ESSCNet(BaseModel):
    """ESSCNet (see the module docstring).

    Args:
        num_classes (int): Including empty. Defaults to 12 (SUNCG / NYU SSC classes).
        stem_channels (int): Stage-1 width. Defaults to 16.
        channels (int): Stage-2 / UNet width. Defaults to 64.
        num_levels (int): UNet levels (level 0 at 1/4). Defaults to 6 (release).
        blocks_per_level (int): Residual blocks per level (encoder and decoder). Defaults to 2.
        sgc_groups (int): G of SGC (1 = plain submanifold convs everywhere: the baseline). Defaults to 4.
        sgc_pattern (Sequence[int]): (a, b, c) of ``(a*x + b*y + c*z) mod G``. Defaults to (1, 2, 3).
        sgc_levels (dict): Where SGC applies: ``stem`` (stages 1-2), ``encoder`` levels and ``decoder`` levels.
            Defaults to the release's ``stem=True, encoder=(0, 1), decoder=(0, 1)``.
        up_types (Sequence[str], optional): Per up step from deep to shallow, ``'v'`` (inverse conv onto existing
            sites) or ``'c'`` (generative). Defaults to ``'v'`` then ``'c'``.
        prune (bool): Coarse-to-fine pruning after the 1/8 prediction. Defaults to True.
        loss (dict): Loss config. Defaults to :class:`SSCSelectedCELoss` with the release's ratios.
        backend (str): Sparse-conv backend, ``'auto'`` | ``'torch'`` | ``'mmcv'``.
        data_preprocessor (dict, optional): Defaults to ``SSCDataPreprocessor``.
    """

    def __init__(self, num_classes: int = 12, stem_channels: int = 16, channels: int = 64, num_levels: int = 6,
                 blocks_per_level: int = 2, sgc_groups: int = 4, sgc_pattern: Sequence[int] = (1, 2, 3),
                 sgc_levels: Optional[Dict] = None, up_types: Optional[Sequence[str]] = None, prune: bool = True,
                 loss: Optional[Dict] = None, backend: str = 'auto', data_preprocessor: Optional[Dict] = None,
                 init_cfg: Optional[Dict] = None) -> None:
        from mmseg.registry import MODELS
        super().__init__(data_preprocessor=data_preprocessor or dict(type='SSCDataPreprocessor'),
                         init_cfg=init_cfg)
        if num_levels < 2:
            raise ValueError(f'ESSCNet: num_levels must be >= 2 (predictions at levels 0 and 1), got {num_levels}')
        up_types = list(up_types) if up_types is not None else ['v'] + ['c'] * (num_levels - 2)
        if len(up_types) != num_levels - 1 or any(t not in ('v', 'c') for t in up_types):
            raise ValueError(f"ESSCNet: up_types must be {num_levels - 1} of 'v'/'c' (deep to shallow), got "
                             f'{up_types}')
        sgc = dict(stem=True, encoder=(0, 1), decoder=(0, 1))
        sgc.update(sgc_levels or {})
        unknown = set(sgc) - {'stem', 'encoder', 'decoder'}
        if unknown:
            raise KeyError(f'ESSCNet: sgc_levels has unknown keys {sorted(unknown)}; expected stem/encoder/decoder')
        self.num_classes, self.num_levels, self.up_types, self.prune = num_classes, num_levels, up_types, prune
        self.sgc_groups, self.sgc_pattern = int(sgc_groups), tuple(sgc_pattern)

        def g(on: bool) -> int:
            return self.sgc_groups if on else 1

        c = channels
        p, b = self.sgc_pattern, backend
        self.stage1 = SGCSubMConv3d(1, stem_channels, 3, bias=False, pattern=p, num_groups=g(sgc['stem']),
                                    indice_key='s1', backend=b)
        self.pool1 = SpMaxPool3d(3, 2, 1, backend=b)
        self.stage2 = SparseResBlock(stem_channels, c, g(sgc['stem']), p, 's2', b)
        self.pool2 = SpMaxPool3d(3, 2, 1, backend=b)
        self.enc = nn.ModuleList()
        self.down = nn.ModuleList()
        for lvl in range(num_levels):
            self.enc.append(_blocks(blocks_per_level, c, c, g(lvl in sgc['encoder']), p, f'enc{lvl}', b))
            if lvl < num_levels - 1:
                self.down.append(nn.Sequential(SparseBNReLU(c), SpConv3d(c, c, 2, 2, bias=False,
                                                                         indice_key=f'down{lvl}', backend=b)))
        self.up_pre = nn.ModuleList()
        self.up = nn.ModuleList()
        self.dec = nn.ModuleList()
        for i, kind in enumerate(up_types):
            lvl = num_levels - 2 - i  # target level
            self.up_pre.append(SparseBNReLU(c))
            if kind == 'v':
                self.up.append(SpInverseConv3d(c, c, 2, indice_key=f'down{lvl}', bias=False, backend=b))
            else:
                self.up.append(SpConvTranspose3d(c, c, 2, 2, bias=False, backend=b))
            self.dec.append(_blocks(blocks_per_level, c, c, g(lvl in sgc['decoder']), p, f'dec{lvl}', b))
        self.head_low = nn.Sequential(SparseBNReLU(c), SpSubMConv3d(c, num_classes, 1, backend=b))
        self.head = nn.Sequential(SparseBNReLU(c), SpSubMConv3d(c, num_classes, 1, backend=b))
        self.loss_module = MODELS.build(loss or dict(type='SSCSelectedCELoss'))

    # ------------------------------------------------------------------------------------------------------------
    def _up(self, i: int, x: SparseTensor, skip: SparseTensor) -> SparseTensor:
        x = self.up_pre[i](x)
        if self.up_types[i] == 'v':
            return self._add_same_sites(self.up[i](x), skip)
        conv = self.up[i]
        conv.output_padding = [s - 2 * t for s, t in zip(skip.spatial_shape, x.spatial_shape)]
        if any(op not in (0, 1) for op in conv.output_padding):
            raise ValueError(f'ESSCNet: cannot up-sample {x.spatial_shape} onto {skip.spatial_shape}')
        return sparse_add_union(conv(x), skip)

    @staticmethod
    def _add_same_sites(a: SparseTensor, b: SparseTensor) -> SparseTensor:
        if a.indices.shape != b.indices.shape or not torch.equal(a.indices, b.indices):
            return sparse_add_union(a, b)
        return a.replace_feature(a.features + b.features)

    def extract(self, x: SparseTensor) -> Tuple[SparseTensor, SparseTensor]:
        """Sparse logits at 1/8 (before pruning) and at 1/4."""
        if not isinstance(x, SparseTensor):
            raise TypeError(f'ESSCNet expects a SparseTensor input (see SSCDataPreprocessor), got {type(x)}')
        x = self.pool1(self.stage1(x))
        x = self.pool2(self.stage2(x))
        skips = []
        for lvl in range(self.num_levels):
            x = _run(self.enc[lvl], x)
            skips.append(x)
            if lvl < self.num_levels - 1:
                x = self.down[lvl](x)
        logits_low = None
        for i in range(self.num_levels - 1):
            lvl = self.num_levels - 2 - i
            x = _run(self.dec[i], self._up(i, x, skips[lvl]))
            if lvl == 1:
                logits_low = self.head_low(x)
                if self.prune:
                    x = prune_to_predicted(x, logits_low.features)
        return logits_low, self.head(x)

    def forward(self, inputs: SparseTensor, data_samples: Optional[List[BaseDataElement]] = None,
                mode: str = 'tensor') -> Union[Dict[str, torch.Tensor], List[BaseDataElement], Tuple]:
        logits_low, logits = self.extract(inputs)
        dense_low, dense = logits_low.dense(), logits.dense()
        if mode == 'tensor':
            return dense, dense_low
        if data_samples is None:
            raise ValueError(f"ESSCNet: mode={mode!r} needs data_samples")
        if mode == 'loss':
            labels = torch.stack([s.gt_label for s in data_samples])
            if labels.shape[1:] != dense.shape[2:]:
                raise ValueError(f'ESSCNet: output grid {tuple(dense.shape[2:])} != label grid '
                                 f'{tuple(labels.shape[1:])}; the dataset out_stride must be 4')
            key = getattr(self.loss_module, 'tsdf_key', 'tsdf')
            if not all(key in s for s in data_samples):
                raise KeyError(f'ESSCNet: the loss needs data_samples[i].{key}; for {key!r} build the dataset with '
                               'with_complete_tsdf=True')
            return self.loss_module(dense, dense_low, labels, torch.stack([s.gt_label_low for s in data_samples]),
                                    torch.stack([s.get(key) for s in data_samples]))
        if mode == 'predict':
            pred, pred_low = dense.argmax(1), dense_low.argmax(1)
            for s, p, pl in zip(data_samples, pred, pred_low):
                s.pred_label = p
                s.pred_label_low = pl
            return data_samples
        raise ValueError(f"ESSCNet: mode={mode!r}; expected 'loss', 'predict' or 'tensor'")
