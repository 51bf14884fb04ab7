"""Semantic-scene-completion datasets: scenes stored as ``.npz`` (``tsdf`` + ``label`` volumes) for mmseg.

Each item is the network input (SSCNet's flipped TSDF, ``[X, Y, Z]``) and an SSC data sample holding the
targets at ESSCNet's two output resolutions (``gt_label`` at 1/``out_stride``, ``gt_label_low`` at
1/(2 * ``out_stride``); SSCNet's block rule) and the projective TSDF at both (for the loss's hard-negative
selection and the occluded-voxel evaluation mask). Options follow the SGC release: its down-sampling rules
(``downsample='release'``) and the TSDF of the complete labels for the hard negatives (``with_complete_tsdf``).
"""
import glob
import os.path as osp
from typing import Dict, List, Optional

import numpy as np
import torch
from mmengine.dataset import BaseDataset
from mmengine.structures import BaseDataElement

from ..registry import register
from .shapes3d import (SSC_CLASSES, SSC_PALETTE, complete_tsdf, downsample_label, downsample_label_release,
                       downsample_tsdf, downsample_tsdf_release, ensure_shapes3d, flip_tsdf)

__all__ = ['SSCDataset', 'Shapes3DSSCDataset', 'load_ssc_scene']


def load_ssc_scene(path: str) -> Dict[str, np.ndarray]:
    """Load one scene file; it must hold ``tsdf`` (float, projective, in [-1, 1]) and ``label`` (uint8)."""
    with np.load(path, allow_pickle=False) as f:
        missing = {'tsdf', 'label'} - set(f.files)
        if missing:
            raise KeyError(f'{path}: missing arrays {sorted(missing)}; an SSC scene needs tsdf and label')
        scene = dict(tsdf=f['tsdf'].astype(np.float32), label=f['label'].astype(np.uint8))
    if scene['tsdf'].shape != scene['label'].shape:
        raise ValueError(f'{path}: tsdf {scene["tsdf"].shape} and label {scene["label"].shape} differ in shape')
    return scene


@register('DATASETS', scopes=['mmseg'])
class SSCDataset(BaseDataset):
    """Scenes ``<data_root>/<data_prefix['scenes']>/*.npz`` (see :func:`load_ssc_scene`).

    Args:
        out_stride (int): Resolution of the high-resolution output (ESSCNet: 4, i.e. 60x36x60 from
            240x144x240). The low-resolution target is at ``2 * out_stride``.
        downsample (str): ``'block'`` (default: SSCNet's label rule with ties to the lowest class, TSDF block mean
            kept negative where most of the block is; see :mod:`mmext.datasets.shapes3d.voxel_ops`) or
            ``'release'`` (the SGC release's ``downsample.hpp``, see
            :mod:`mmext.datasets.shapes3d.release_voxel_ops`).
        with_complete_tsdf (bool): Also give ``tsdf_complete`` at 1/``out_stride``: the release's TSDF of the
            complete labels (``CompleteTSDF`` at full resolution, then down-sampled by the ``downsample`` rule),
            for ``SSCSelectedCELoss(hard_negative_tsdf='complete')``. Defaults to False.
        complete_tsdf_radius (int): Its search radius in full-resolution voxels (release: 0.24 m / 0.02 m = 12).
        **kwargs: :class:`mmengine.dataset.BaseDataset` arguments (``data_root``, ``data_prefix=dict(scenes=...)``).
    """

    METAINFO = dict(classes=SSC_CLASSES, palette=SSC_PALETTE)

    DOWNSAMPLE = dict(block=(downsample_label, downsample_tsdf),
                      release=(downsample_label_release, downsample_tsdf_release))

    def __init__(self, *args, out_stride: int = 4, downsample: str = 'block', with_complete_tsdf: bool = False,
                 complete_tsdf_radius: int = 12, **kwargs) -> None:
        if int(out_stride) < 1:
            raise ValueError(f'{type(self).__name__}: out_stride must be >= 1, got {out_stride}')
        if downsample not in self.DOWNSAMPLE:
            raise ValueError(f"{type(self).__name__}: downsample must be one of {sorted(self.DOWNSAMPLE)}, got "
                             f'{downsample!r}')
        if int(complete_tsdf_radius) < 1:
            raise ValueError(f'{type(self).__name__}: complete_tsdf_radius must be >= 1, got {complete_tsdf_radius}')
        self.out_stride = int(out_stride)
        self.downsample = downsample
        self.with_complete_tsdf = bool(with_complete_tsdf)
        self.complete_tsdf_radius = int(complete_tsdf_radius)
        kwargs.setdefault('pipeline', [])
        super().__init__(*args, **kwargs)

    def load_data_list(self) -> List[dict]:
        folder = self.data_prefix.get('scenes')
        if folder is None:
            raise KeyError(f"{type(self).__name__}: data_prefix needs a 'scenes' folder, got {self.data_prefix}")
        files = sorted(glob.glob(osp.join(folder, '*.npz')))
        if not files:
            raise FileNotFoundError(f'{type(self).__name__}: no .npz scenes under {folder}')
        return [dict(scene_path=p, scene_id=osp.splitext(osp.basename(p))[0]) for p in files]

    def prepare_data(self, idx: int) -> dict:
        info = self.get_data_info(idx)
        scene = load_ssc_scene(info['scene_path'])
        s = self.out_stride
        sample = BaseDataElement(metainfo=dict(scene_id=info['scene_id'], scene_path=info['scene_path'],
                                               volume_shape=tuple(scene['label'].shape)))
        label_rule, tsdf_rule = self.DOWNSAMPLE[self.downsample]
        sample.gt_label = torch.from_numpy(label_rule(scene['label'], s).astype(np.int64))
        sample.gt_label_low = torch.from_numpy(label_rule(scene['label'], 2 * s).astype(np.int64))
        sample.tsdf = torch.from_numpy(tsdf_rule(scene['tsdf'], s))
        sample.tsdf_low = torch.from_numpy(tsdf_rule(scene['tsdf'], 2 * s))
        if self.with_complete_tsdf:
            full = complete_tsdf(scene['label'], self.complete_tsdf_radius)
            sample.tsdf_complete = torch.from_numpy(tsdf_rule(full, s))
        return dict(inputs=torch.from_numpy(flip_tsdf(scene['tsdf'])), data_samples=sample)


@register('DATASETS', scopes=['mmseg'])
class Shapes3DSSCDataset(SSCDataset):
    """:class:`SSCDataset` over the generated Shapes-3D scenes (``scenes/<split>/``), generated on first use.

    Args:
        shapes3d_cfg (dict, optional): generator parameters (:func:`mmext.datasets.shapes3d.shapes3d_params`).
        auto_generate (bool): Generate the set under ``data_root`` when missing. Defaults to True.
    """

    def __init__(self, *args, shapes3d_cfg: Optional[Dict] = None, auto_generate: bool = True, **kwargs) -> None:
        root = kwargs.get('data_root')
        if not root:
            raise KeyError('Shapes3DSSCDataset: data_root is required')
        if auto_generate:
            ensure_shapes3d(root, shapes3d_cfg)
        elif not osp.exists(osp.join(root, 'shapes3d.json')):
            raise FileNotFoundError(f'Shapes3DSSCDataset: no Shapes-3D set at {root} and auto_generate=False')
        super().__init__(*args, **kwargs)
