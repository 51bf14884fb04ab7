"""Group R-CNN data: point transforms keep points with (and inside) their boxes, the seeded box / point split, both
point formats, pseudo boxes for the student, and the COCO point converter."""
import json
import os.path as osp
import runpy
import sys

import numpy as np
import pytest
import torch
from mmdet.structures.bbox import HorizontalBoxes

from mmext.datasets.point_generation import add_points_to_coco
from mmext.datasets.point_transforms import (LoadPointAnnotations, PackPointDetInputs, PointRandomCrop,
                                             PointRandomFlip, PointResize)
from tests.conftest import REPO, TINY_SHAPES


def _results(boxes, points, h=100, w=120):
    boxes = np.asarray(boxes, dtype=np.float32)
    return dict(img=np.zeros((h, w, 3), np.uint8), img_shape=(h, w), ori_shape=(h, w),
                gt_bboxes=HorizontalBoxes(boxes), gt_bboxes_labels=np.arange(len(boxes)),
                gt_ignore_flags=np.zeros(len(boxes), bool), gt_points=np.asarray(points, np.float32).reshape(-1, 2))


def _inside(res, tol=1e-4):
    b, p = res['gt_bboxes'].numpy(), res['gt_points']
    return bool(np.all((p[:, 0] >= b[:, 0] - tol) & (p[:, 0] <= b[:, 2] + tol) & (p[:, 1] >= b[:, 1] - tol)
                       & (p[:, 1] <= b[:, 3] + tol)))


def test_load_points_both_formats_and_resampling_inside_the_box():
    res = dict(img_path='x.png', instances=[dict(point=[3., 4.]), dict(point=[5., 6., 5., 6.])])
    out = LoadPointAnnotations()(dict(res))
    np.testing.assert_allclose(out['gt_points'], [[3, 4], [5, 6]])
    with pytest.raises(KeyError, match='point'):
        LoadPointAnnotations()(dict(img_path='x.png', instances=[dict(bbox=[0, 0, 1, 1])]))
    with pytest.raises(ValueError, match=r'\[x, y\]'):
        LoadPointAnnotations()(dict(img_path='x.png', instances=[dict(point=[1., 2., 3.])]))
    # box-labelled training images: a new point inside the central 98 % of the box at every call
    boxes = np.array([[10, 20, 50, 40], [0, 0, 5, 100]], np.float32)
    base = dict(img_path='x.png', instances=[dict(point=[0., 0.])] * 2, gt_bboxes=HorizontalBoxes(boxes),
                sample_point_in_box=True)
    draws = np.stack([LoadPointAnnotations()(dict(base))['gt_points'] for _ in range(50)])
    lo = boxes[:, :2] + 0.01 * (boxes[:, 2:] - boxes[:, :2])
    hi = boxes[:, :2] + 0.99 * (boxes[:, 2:] - boxes[:, :2])
    assert np.all(draws >= lo) and np.all(draws <= hi)
    assert np.unique(draws[:, 0, 0]).size == 50, 're-sampled every iteration'


def test_resize_and_flip_move_points_with_their_boxes():
    res = _results([[10, 10, 30, 50], [60, 20, 110, 90]], [[12, 40], [100, 30]])
    out = PointResize(scale=(240, 200), keep_ratio=True)(res)  # x2
    np.testing.assert_allclose(out['gt_points'], [[24, 80], [200, 60]])
    assert _inside(out)
    for direction in ('horizontal', 'vertical', 'diagonal'):
        res = _results([[10, 10, 30, 50], [60, 20, 110, 90]], [[12, 40], [100, 30]])
        out = PointRandomFlip(prob=1.0, direction=direction)(res)
        assert _inside(out), direction
    np.testing.assert_allclose(out['gt_points'], [[120 - 12, 100 - 40], [120 - 100, 100 - 30]])


def test_random_crop_drops_points_with_their_boxes_and_keeps_them_inside(monkeypatch):
    rng = np.random.RandomState(0)
    for trial in range(40):
        n = 6
        xy = rng.uniform(0, 100, (n, 2))
        wh = rng.uniform(5, 40, (n, 2))
        boxes = np.concatenate([xy, np.minimum(xy + wh, [120, 100])], 1)
        points = boxes[:, :2] + rng.uniform(0.05, 0.95, (n, 2)) * (boxes[:, 2:] - boxes[:, :2])
        res = _results(boxes, points)
        labels_before = res['gt_bboxes_labels'].copy()
        out = PointRandomCrop(crop_size=(40, 50), allow_negative_crop=True)(res)
        assert len(out['gt_points']) == len(out['gt_bboxes']) == len(out['gt_bboxes_labels'])
        assert 'gt_instances_ids' not in out
        kept = out['gt_bboxes_labels']
        assert set(kept) <= set(labels_before)
        # a kept point is its own (translated) point, and lies inside its clipped box
        assert _inside(out), trial
        h, w = out['img_shape']
        assert np.all(out['gt_points'] >= 0) and np.all(out['gt_points'][:, 0] <= w) and \
            np.all(out['gt_points'][:, 1] <= h)
    # an exact case: crop of the right half drops the left instance and shifts the right point
    res = _results([[0, 0, 20, 20], [70, 10, 110, 50]], [[5, 5], [80, 30]])
    monkeypatch.setattr(np.random, 'randint', lambda low, high: high - 1)  # offset = the full margin (0, 60)
    out = PointRandomCrop(crop_size=(60, 100))._crop_data(res, (100, 60), True)
    np.testing.assert_allclose(out['gt_points'], [[20, 30]])
    assert out['gt_bboxes_labels'].tolist() == [1]


def test_pack_puts_points_into_gt_instances():
    res = _results([[0, 0, 20, 20], [70, 10, 110, 50]], [[5, 5], [80, 30]])
    res['gt_ignore_flags'] = np.array([False, True])
    packed = PackPointDetInputs(meta_keys=('img_shape', ))(res)
    sample = packed['data_samples']
    assert torch.equal(sample.gt_instances.points, torch.tensor([[5., 5.]]))
    assert torch.equal(sample.ignored_instances.points, torch.tensor([[80., 30.]]))


def _point_dataset(root, **kwargs):
    from mmdet.registry import DATASETS
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')
    cfg = dict(type='ShapesPointDataset', data_root=root, shapes_cfg=TINY_SHAPES,
               ann_file='annotations/instances_train.json', data_prefix=dict(img='images/train/'),
               filter_cfg=dict(filter_empty_gt=True, min_size=4), pipeline=[], box_ratio=0.25)
    cfg.update(kwargs)
    return DATASETS.build(cfg)


def test_split_is_seeded_disjoint_and_the_same_in_test_mode(tiny_shapes):
    box = _point_dataset(tiny_shapes, split='box')
    point = _point_dataset(tiny_shapes, split='point', test_mode=True)
    full = _point_dataset(tiny_shapes, split='all')
    n = len(full)
    assert len(box) == int(0.25 * n) and len(box) + len(point) == n
    box_ids = {box.get_data_info(i)['img_id'] for i in range(len(box))}
    point_ids = {point.get_data_info(i)['img_id'] for i in range(len(point))}
    assert not box_ids & point_ids and box_ids == set(box.box_img_ids) == set(point.box_img_ids)
    # the release's draw: np.random.seed(0); np.random.choice(N, int(ratio * N), replace=False)
    np.random.seed(0)
    chosen = np.random.choice(n, int(0.25 * n), replace=False)
    assert box_ids == {full.get_data_info(int(i))['img_id'] for i in chosen}
    assert _point_dataset(tiny_shapes, split='box', split_seed=1).box_img_ids != box.box_img_ids
    info = box.get_data_info(0)
    assert info['sample_point_in_box'] and all(len(inst['point']) == 2 for inst in info['instances'])
    assert not point.get_data_info(0)['sample_point_in_box']
    with pytest.raises(ValueError, match='split'):
        _point_dataset(tiny_shapes, split='weak')


def test_converter_points_lie_in_masks_and_the_dataset_reads_them(tiny_shapes, tmp_path, monkeypatch):
    from pycocotools import mask as mask_utils
    src = tiny_shapes + 'annotations/instances_train.json'
    with open(src) as f:
        coco = json.load(f)
    coco['annotations'][0].pop('segmentation')  # no mask: sampled from the box
    out = add_points_to_coco(coco, seed=0)
    assert out['annotations'][1]['point'] == add_points_to_coco(coco, seed=0)['annotations'][1]['point']
    assert out['annotations'][1]['point'] != add_points_to_coco(coco, seed=1)['annotations'][1]['point']
    sizes = {im['id']: (im['height'], im['width']) for im in coco['images']}
    for ann in out['annotations'][1:]:
        x, y = ann['point'][:2]
        h, w = sizes[ann['image_id']]
        segm = ann['segmentation']
        rle = mask_utils.merge(mask_utils.frPyObjects(segm, h, w)) if isinstance(segm, list) else (
            mask_utils.frPyObjects(segm, h, w) if isinstance(segm['counts'], list) else segm)
        assert mask_utils.decode(rle)[int(y), int(x)] == 1
    x1, y1, bw, bh = out['annotations'][0]['bbox']
    px, py = out['annotations'][0]['point'][:2]
    assert x1 <= px <= x1 + bw and y1 <= py <= y1 + bh
    # the tool writes the same thing; PointCocoDataset reads the [x, y, x, y] format
    dst = tmp_path / 'points.json'
    tool = osp.join(REPO, 'tools/dataset_converters/coco_to_points.py')
    monkeypatch.setattr(sys, 'argv', [tool, src, str(dst), '--seed', '0'])
    runpy.run_path(tool, run_name='__main__')
    with open(dst) as f:
        written = json.load(f)
    assert [a['point'] for a in written['annotations']] == \
        [a['point'] for a in add_points_to_coco(json.load(open(src)), 0)['annotations']]
    ds = _point_dataset(tiny_shapes, ann_file=str(dst), split='all')
    inst = ds.get_data_info(0)['instances'][0]
    assert len(inst['point']) == 2
    with pytest.raises(KeyError, match='point'):
        no_points = tmp_path / 'nopoints.json'
        for a in written['annotations']:
            a.pop('point')
        no_points.write_text(json.dumps(written))
        _point_dataset(tiny_shapes, ann_file=str(no_points), split='all')


def test_student_dataset_replaces_point_only_boxes_by_pseudo_boxes(tiny_shapes, tmp_path):
    point = _point_dataset(tiny_shapes, split='point', test_mode=True)
    preds = []
    for i in range(len(point)):
        info = point.get_data_info(i)
        preds.append(dict(image_id=info['img_id'], bbox=[1., 2., 10., 20.], score=0.9, category_id=1))
        preds.append(dict(image_id=info['img_id'], bbox=[5., 5., 10., 10.], score=0.0, category_id=2))
    path = tmp_path / 'pseudo.bbox.json'
    path.write_text(json.dumps(preds))
    student = _point_dataset(tiny_shapes, split='all', with_point=False, pseudo_ann_file=str(path))
    box_ids = set(student.box_img_ids)
    for i in range(len(student)):
        info = student.get_data_info(i)
        if info['img_id'] in box_ids:
            assert len(info['instances']) >= 1 and info['instances'][0]['bbox'] != [1., 2., 11., 22.]
        else:  # score 0 is not > pseudo_score_thr=0 (the release's student_thr)
            assert [inst['bbox'] for inst in info['instances']] == [[1., 2., 11., 22.]]
        assert not info['sample_point_in_box']
    wrong = tmp_path / 'wrong.json'
    wrong.write_text(json.dumps([dict(image_id=10 ** 6, bbox=[0, 0, 1, 1], score=1., category_id=1)]))
    with pytest.raises(ValueError, match='split'):
        _point_dataset(tiny_shapes, split='all', with_point=False, pseudo_ann_file=str(wrong))
