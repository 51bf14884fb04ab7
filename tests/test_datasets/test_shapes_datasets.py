"""The Shapes dataset classes and base configs, read by mmdet, mmseg and mmpretrain's own machinery."""
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

from tests.conftest import REPO, TINY_SHAPES

import mmext  # noqa: F401


def _dataset_cfg(base: str, loader: str, data_root: str) -> dict:
    cfg = Config.fromfile(osp.join(REPO, 'configs/_base_/datasets', base))
    ds = cfg[loader]['dataset']
    ds['data_root'] = data_root
    ds['shapes_cfg'] = TINY_SHAPES
    return ds


@pytest.mark.parametrize('loader', ['train_dataloader', 'val_dataloader'])
def test_det_and_instance_dataset(tiny_shapes, loader):
    init_default_scope('mmdet')
    from mmdet.registry import DATASETS
    ds = DATASETS.build(_dataset_cfg('shapes_instance.py', loader, tiny_shapes))
    assert ds.metainfo['classes'] == ('circle', 'square', 'triangle', 'star', 'hexagon')
    assert len(ds) > 0
    raw = ds.get_data_info(0)
    assert all('point' in inst for inst in raw['instances'])
    sample = ds[0]
    gt = sample['data_samples'].gt_instances
    assert len(gt) == len(raw['instances']) and gt.masks.masks.shape[0] == len(gt)
    assert sample['inputs'].shape[1:] == (256, 256)  # the base pipeline resizes to 256 (keep ratio)
    assert (gt.masks.masks.sum(axis=(1, 2)) > 0).all()


@pytest.mark.parametrize('base', ['shapes_detection.py', 'shapes_instance.py', 'shapes_panoptic.py'])
def test_train_annotations_follow_resize(tiny_shapes, base):
    """The tiny set is 128 px and the base train pipeline resizes to 256: boxes (and masks) must scale with it."""
    init_default_scope('mmdet')
    from mmdet.registry import DATASETS
    cfg = _dataset_cfg(base, 'train_dataloader', tiny_shapes)
    cfg['pipeline'] = [t for t in cfg['pipeline'] if t['type'] != 'RandomFlip']
    ds = DATASETS.build(cfg)
    raw = ds.get_data_info(0)
    sample = ds[0]
    gt = sample['data_samples'].gt_instances
    assert sample['inputs'].shape[1:] == (256, 256)
    scale = 256 / TINY_SHAPES['img_size']
    raw_boxes = np.array([inst['bbox'] for inst in raw['instances'] if not inst.get('ignore_flag', 0)],
                         dtype=np.float32)
    np.testing.assert_allclose(gt.bboxes.tensor.numpy(), raw_boxes * scale, atol=1e-3)
    if 'masks' in gt:
        assert gt.masks.masks.shape[1:] == (256, 256)


def test_panoptic_dataset(tiny_shapes):
    init_default_scope('mmdet')
    from mmdet.registry import DATASETS
    ds = DATASETS.build(_dataset_cfg('shapes_panoptic.py', 'train_dataloader', tiny_shapes))
    sample = ds[0]
    sem = sample['data_samples'].gt_sem_seg.sem_seg.numpy()
    # mmdet maps stuff to contiguous ids after things; every pixel is labelled in Shapes
    assert sem.max() < 8 and (sem != 255).all()
    assert len(sample['data_samples'].gt_instances) > 0


def test_semantic_dataset(tiny_shapes):
    init_default_scope('mmseg')
    from mmseg.registry import DATASETS
    ds = DATASETS.build(_dataset_cfg('shapes_semantic.py', 'val_dataloader', tiny_shapes))
    assert len(ds) == TINY_SHAPES['num_val']
    sample = ds[0]
    seg = sample['data_samples'].gt_sem_seg.data.numpy()
    assert set(np.unique(seg)) <= set(range(8))


def test_classification_dataset(tiny_shapes):
    init_default_scope('mmpretrain')
    from mmpretrain.registry import DATASETS
    ds = DATASETS.build(_dataset_cfg('shapes_classification.py', 'train_dataloader', tiny_shapes))
    assert len(ds) > 0 and ds.CLASSES == ('circle', 'square', 'triangle', 'star', 'hexagon')
    sample = ds[0]
    assert tuple(sample['inputs'].shape) == (3, 64, 64)
    assert 0 <= int(sample['data_samples'].gt_label) < 5


def test_missing_data_root_is_a_clear_error():
    init_default_scope('mmdet')
    from mmdet.registry import DATASETS
    with pytest.raises(ValueError, match='data_root is required'):
        DATASETS.build(dict(type='ShapesDetDataset', ann_file='x.json'))
    with pytest.raises(FileNotFoundError, match='auto_generate=False'):
        DATASETS.build(dict(type='ShapesDetDataset', data_root='/nonexistent/shapes', auto_generate=False))
