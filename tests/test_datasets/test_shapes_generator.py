"""The Shapes generator: determinism, and agreement between all the annotation formats it writes."""
import hashlib
import json
import os
import os.path as osp

import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from mmext.datasets.shapes import (ALL_CLASSES, THING_CLASSES, draw_image, ensure_shapes, generate_shapes)


def _digest(root: str) -> str:
    h = hashlib.sha1()
    for dirpath, _, files in sorted(os.walk(root)):
        for name in sorted(files):
            if name == 'shapes_meta.json':
                continue
            with open(osp.join(dirpath, name), 'rb') as f:
                h.update(osp.relpath(osp.join(dirpath, name), root).encode() + f.read())
    return h.hexdigest()


def test_same_seed_same_bytes_and_index_independence(tmp_path):
    a = generate_shapes(str(tmp_path / 'a'), num_train=4, num_val=2, img_size=96, seed=7)
    generate_shapes(str(tmp_path / 'b'), num_train=4, num_val=2, img_size=96, seed=7)
    assert _digest(str(tmp_path / 'a')) == _digest(str(tmp_path / 'b'))
    assert a['counts']['train']['images'] == 4
    # image i depends only on (seed, split, i): more images never change earlier ones
    generate_shapes(str(tmp_path / 'c'), num_train=6, num_val=2, img_size=96, seed=7)
    for i in range(4):
        with open(tmp_path / 'a' / 'images' / 'train' / f'{i:06d}.png', 'rb') as f1, \
                open(tmp_path / 'c' / 'images' / 'train' / f'{i:06d}.png', 'rb') as f2:
            assert f1.read() == f2.read()
    generate_shapes(str(tmp_path / 'd'), num_train=4, num_val=2, img_size=96, seed=8)
    assert _digest(str(tmp_path / 'a')) != _digest(str(tmp_path / 'd'))


def test_draw_image_invariants():
    for idx in range(10):
        s = draw_image(seed=1, split='train', index=idx, img_size=128)
        assert s['image'].shape == (128, 128, 3) and s['image'].dtype == np.uint8
        assert 1 <= len(s['things']) <= 6
        cover = np.zeros((128, 128), dtype=int)
        for t in s['things']:
            cover += t['mask']
            assert t['mask'].sum() >= 0.6 * t['full_mask'].sum()  # mostly visible
        for m in s['stuff'].values():
            cover += m
        assert (cover == 1).all(), 'things and stuff partition the image'
    with pytest.raises(ValueError, match='split'):
        draw_image(0, 'training', 0)


def test_coco_instances_valid(tiny_shapes):
    coco = COCO(osp.join(tiny_shapes, 'annotations/instances_train.json'))
    assert [c['name'] for c in coco.loadCats(coco.getCatIds())] == list(THING_CLASSES)
    anns = coco.loadAnns(coco.getAnnIds())
    assert anns, 'the tiny set has instances'
    kinds = set()
    for ann in anns:
        img = coco.loadImgs(ann['image_id'])[0]
        m = coco.annToMask(ann).astype(bool)
        kinds.add('rle' if isinstance(ann['segmentation'], dict) else 'polygon')
        assert ann['iscrowd'] == 0
        assert abs(int(m.sum()) - ann['area']) <= 0.02 * ann['area'] + 2
        x, y, w, h = ann['bbox']
        ys, xs = np.nonzero(m)
        assert xs.min() >= x - 1 and xs.max() <= x + w and ys.min() >= y - 1 and ys.max() <= y + h
        px, py = ann['point']
        assert m[int(py), int(px)], 'the annotated point lies inside the instance mask'
        assert m.shape == (img['height'], img['width'])
    assert kinds == {'rle', 'polygon'}, f'both segmentation encodings appear, got {kinds}'
    # evaluating the ground truth against itself gives AP 1.0 for boxes and masks
    for iou_type in ('bbox', 'segm'):
        dets = [dict(image_id=a['image_id'], category_id=a['category_id'], bbox=a['bbox'], score=1.0,
                     segmentation=mask_utils.encode(np.asfortranarray(coco.annToMask(a)))) for a in anns]
        for d in dets:
            d['segmentation']['counts'] = d['segmentation']['counts'].decode()
        ev = COCOeval(coco, coco.loadRes(dets), iou_type)
        ev.evaluate(), ev.accumulate(), ev.summarize()
        assert ev.stats[0] > 0.99


def test_panoptic_semantic_instances_agree(tiny_shapes):
    import cv2
    with open(osp.join(tiny_shapes, 'annotations/panoptic_val.json')) as f:
        pan = json.load(f)
    coco = COCO(osp.join(tiny_shapes, 'annotations/instances_val.json'))
    cats = {c['id']: c for c in pan['categories']}
    assert [c['name'] for c in pan['categories']] == list(ALL_CLASSES)
    assert sum(c['isthing'] for c in pan['categories']) == len(THING_CLASSES)
    for ann in pan['annotations']:
        rgb = cv2.imread(osp.join(tiny_shapes, 'annotations/panoptic_val', ann['file_name']))[..., ::-1]
        rgb = rgb.astype(np.int64)
        ids = rgb[..., 0] + 256 * rgb[..., 1] + 65536 * rgb[..., 2]
        sem = cv2.imread(osp.join(tiny_shapes, 'semantic/val', ann['file_name']), cv2.IMREAD_UNCHANGED)
        assert set(np.unique(ids)) == {s['id'] for s in ann['segments_info']}, 'no VOID pixels, no stray ids'
        for seg in ann['segments_info']:
            m = ids == seg['id']
            assert m.sum() == seg['area']
            assert (sem[m] == seg['category_id'] - 1).all(), 'semantic label = panoptic category - 1'
            if cats[seg['category_id']]['isthing']:
                inst = coco.loadAnns(seg['id'])[0]
                assert (coco.annToMask(inst).astype(bool) == m).mean() > 0.995


def test_classification_split(tiny_shapes):
    lines = open(osp.join(tiny_shapes, 'classification/meta/train.txt')).read().split()
    files, labels = lines[0::2], [int(x) for x in lines[1::2]]
    assert files and all(osp.isfile(osp.join(tiny_shapes, 'classification/train', f)) for f in files)
    for f, label in zip(files, labels):
        assert f.split('/')[0] == THING_CLASSES[label]


def test_ensure_shapes_checks_parameters(tmp_path):
    root = str(tmp_path / 's')
    ensure_shapes(root, dict(num_train=2, num_val=1, img_size=64))
    ensure_shapes(root, dict(num_train=2, num_val=1, img_size=64))  # second call reuses it
    with pytest.raises(ValueError, match='num_train'):
        ensure_shapes(root, dict(num_train=3, num_val=1, img_size=64))
    with pytest.raises(ValueError, match='allowed keys'):
        ensure_shapes(root, dict(num_images=3))
    other = tmp_path / 'not_shapes'
    other.mkdir()
    (other / 'x.txt').write_text('user data')
    with pytest.raises(ValueError, match='not a Shapes set'):
        ensure_shapes(str(other))
    assert (other / 'x.txt').read_text() == 'user data'
    with pytest.raises(ValueError, match='img_size'):
        generate_shapes(str(tmp_path / 'bad'), img_size=0)


@pytest.mark.parametrize('root_exists_empty', [False, True])
def test_ensure_shapes_when_another_process_generates_at_the_same_time(tmp_path, monkeypatch, root_exists_empty):
    """Two trainings started together both find no set; the one that finishes second keeps the first one's copy
    (stop 32: the second failed with 'Directory not empty')."""
    import mmext.datasets.shapes.prepare as prepare
    cfg = dict(num_train=2, num_val=1, img_size=64)
    root = tmp_path / 's'
    if root_exists_empty:
        root.mkdir()
    real = prepare.generate_shapes

    def racing(out_dir, **kwargs):
        real(out_dir, **kwargs)
        if root_exists_empty:  # the other process removed the empty folder and renamed its copy in
            root.rmdir()
        real(str(root), **kwargs)  # the other process finishes first

    monkeypatch.setattr(prepare, 'generate_shapes', racing)
    meta = ensure_shapes(str(root), cfg)
    assert meta['params']['num_train'] == 2
    assert not [p for p in os.listdir(tmp_path) if p.startswith('.shapes-tmp-')]
    # a real failure to rename (no finished set there) still raises
    broken = tmp_path / 'b'

    def fills_root(out_dir, **kwargs):
        real(out_dir, **kwargs)
        broken.mkdir()
        (broken / 'x.txt').write_text('user data')

    monkeypatch.setattr(prepare, 'generate_shapes', fills_root)
    with pytest.raises(OSError):
        ensure_shapes(str(broken), cfg)
    assert (broken / 'x.txt').read_text() == 'user data'
