"""Deterministic generator of the Shapes dataset, mmext's embedded default dataset.

From one seed it draws images of several *thing* classes (circle, square, triangle, star, hexagon) of varied size,
colour, rotation and overlap on textured backgrounds with a couple of *stuff* regions, and writes, in one run, every
annotation format the mmext methods need:

* COCO instances (``annotations/instances_{split}.json``): bbox, polygon (unoccluded instances) or compressed RLE
  (occluded instances) segmentation, area, iscrowd, and one annotated ``point`` inside each instance's mask;
* COCO panoptic (``annotations/panoptic_{split}.json`` + PNGs in ``annotations/panoptic_{split}/``), things and stuff;
* mmseg semantic masks (``semantic/{split}/*.png``, one uint8 label per pixel, things then stuff);
* an ImageNet-style classification split (``classification/{split}/<class>/*.png`` single-object crops plus
  ``classification/meta/{split}.txt``).

Every image is drawn from its own random stream seeded by ``(seed, split, index)``, so a file depends only on the
seed and its own index: generating more images never changes the earlier ones.
"""
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from pycocotools import mask as mask_utils

__all__ = [
    'THING_CLASSES', 'STUFF_CLASSES', 'ALL_CLASSES', 'PALETTE', 'SHAPES_VERSION', 'generate_shapes', 'draw_image'
]

SHAPES_VERSION = 1
THING_CLASSES: Tuple[str, ...] = ('circle', 'square', 'triangle', 'star', 'hexagon')
STUFF_CLASSES: Tuple[str, ...] = ('background', 'water', 'grass')
#: semantic label i <-> COCO category id i + 1; things first, then stuff (mmdet's panoptic convention)
ALL_CLASSES: Tuple[str, ...] = THING_CLASSES + STUFF_CLASSES
PALETTE: List[Tuple[int, int, int]] = [(220, 20, 60), (0, 130, 200), (255, 200, 0), (145, 30, 180), (60, 180, 75),
                                       (128, 128, 128), (0, 60, 160), (40, 110, 20)]
_SPLIT_IDS = {'train': 0, 'val': 1, 'test': 2}
_MIN_VISIBLE = 0.6  # every instance keeps at least this fraction of its own area visible
_MIN_AREA = 48  # visible pixels


def _regular_polygon(n: int, radius: float, angle: float, cx: float, cy: float,
                     inner: Optional[float] = None) -> np.ndarray:
    """Vertices (x, y) of a regular n-gon, or an n-pointed star when ``inner`` (radius ratio) is given."""
    if inner is None:
        t = angle + np.arange(n) * 2 * np.pi / n
        r = np.full(n, radius)
    else:
        t = angle + np.arange(2 * n) * np.pi / n
        r = np.where(np.arange(2 * n) % 2 == 0, radius, radius * inner)
    return np.stack([cx + r * np.cos(t), cy + r * np.sin(t)], axis=1)


def _shape_polygon(cls_name: str, radius: float, angle: float, cx: float, cy: float) -> np.ndarray:
    if cls_name == 'circle':
        return _regular_polygon(48, radius, 0.0, cx, cy)
    if cls_name == 'square':
        return _regular_polygon(4, radius, angle, cx, cy)
    if cls_name == 'triangle':
        return _regular_polygon(3, radius, angle, cx, cy)
    if cls_name == 'star':
        return _regular_polygon(5, radius, angle, cx, cy, inner=0.45)
    if cls_name == 'hexagon':
        return _regular_polygon(6, radius, angle, cx, cy)
    raise ValueError(f'unknown Shapes thing class {cls_name!r}; expected one of {THING_CLASSES}')


def _poly_mask(poly: np.ndarray, h: int, w: int) -> np.ndarray:
    """Rasterise a polygon exactly as pycocotools (and so mmdet's LoadAnnotations) does."""
    rles = mask_utils.frPyObjects([poly.reshape(-1).tolist()], h, w)
    return mask_utils.decode(mask_utils.merge(rles)).astype(bool)


def _texture(rng: np.random.Generator, h: int, w: int, base: np.ndarray, strength: float) -> np.ndarray:
    """A smooth low-frequency pattern plus fine noise around an RGB base colour, float32 HxWx3."""
    coarse = rng.normal(0.0, 1.0, size=(rng.integers(3, 9), rng.integers(3, 9), 3)).astype(np.float32)
    smooth = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
    fine = rng.normal(0.0, 0.35, size=(h, w, 3)).astype(np.float32)
    return base[None, None, :].astype(np.float32) + strength * (smooth + fine)


def _stuff_masks(rng: np.random.Generator, h: int, w: int) -> Dict[str, np.ndarray]:
    """Masks of the stuff regions of one image: a wavy 'water' band and a 'grass' blob, each optional."""
    masks = {}
    ys, xs = np.mgrid[0:h, 0:w]
    if rng.random() < 0.6:  # water: everything below a sine curve in the lower part of the image
        level = h * rng.uniform(0.6, 0.85)
        amp, freq, phase = h * rng.uniform(0.02, 0.06), rng.uniform(1.0, 3.0), rng.uniform(0, 2 * np.pi)
        masks['water'] = ys > level + amp * np.sin(2 * np.pi * freq * xs / w + phase)
    if rng.random() < 0.6:  # grass: a jittered blob
        cx, cy = rng.uniform(0.1, 0.9) * w, rng.uniform(0.1, 0.6) * h
        n = 16
        radii = min(h, w) * rng.uniform(0.12, 0.25) * rng.uniform(0.7, 1.3, size=n)
        t = np.arange(n) * 2 * np.pi / n
        poly = np.stack([cx + radii * np.cos(t), cy + radii * np.sin(t)], axis=1)
        masks['grass'] = _poly_mask(poly, h, w)
    if 'water' in masks and 'grass' in masks:
        masks['grass'] &= ~masks['water']
    return {k: v for k, v in masks.items() if v.sum() >= _MIN_AREA}


def _random_colour(rng: np.random.Generator) -> np.ndarray:
    hsv = np.array([[[rng.integers(0, 180), rng.integers(90, 256), rng.integers(90, 256)]]], dtype=np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0].astype(np.float32)


def draw_image(seed: int, split: str, index: int, img_size: int = 256, max_things: int = 6) -> Dict:
    """Draw one Shapes image and its ground truth.

    Args:
        seed (int): Dataset seed.
        split (str): ``'train'``, ``'val'`` or ``'test'``.
        index (int): Image index within the split.
        img_size (int): Side of the square image. Defaults to 256.
        max_things (int): Upper bound on thing instances per image. Defaults to 6.

    Returns:
        dict: ``image`` (HxWx3 uint8 RGB), ``stuff`` (name -> bool mask, final visible regions) and ``things``, a
        list (painter's order) of dicts with ``label``, ``polygon``, ``full_mask``, ``mask`` (visible part).
    """
    if split not in _SPLIT_IDS:
        raise ValueError(f'split must be one of {sorted(_SPLIT_IDS)}, got {split!r}')
    rng = np.random.default_rng([seed, _SPLIT_IDS[split], index])
    h = w = img_size
    stuff = _stuff_masks(rng, h, w)
    image = _texture(rng, h, w, rng.uniform(60, 200, size=3), rng.uniform(8, 25))
    texture_base = {'water': np.array([30, 80, 170]), 'grass': np.array([50, 140, 40])}
    for name, m in stuff.items():
        tex = _texture(rng, h, w, texture_base[name] + rng.normal(0, 12, size=3), rng.uniform(6, 16))
        image[m] = tex[m]

    things: List[Dict] = []
    occupied = np.zeros((h, w), dtype=bool)
    target = int(rng.integers(1, max_things + 1))
    attempts = 0
    while len(things) < target and attempts < 40 * target:
        attempts += 1
        label = int(rng.integers(len(THING_CLASSES)))
        radius = rng.uniform(0.05, 0.22) * img_size
        cx, cy = rng.uniform(radius * 0.6, w - radius * 0.6), rng.uniform(radius * 0.6, h - radius * 0.6)
        poly = _shape_polygon(THING_CLASSES[label], radius, rng.uniform(0, 2 * np.pi), cx, cy)
        poly[:, 0] = poly[:, 0].clip(0, w)
        poly[:, 1] = poly[:, 1].clip(0, h)
        full = _poly_mask(poly, h, w)
        if full.sum() < _MIN_AREA * 2:
            continue
        # the new shape is drawn on top: every earlier instance must stay mostly visible
        if any((t['mask'] & ~full).sum() < _MIN_VISIBLE * t['full_mask'].sum() for t in things if
               (t['mask'] & full).any()):
            continue
        for t in things:
            t['mask'] = t['mask'] & ~full
        things.append(dict(label=label, polygon=poly, full_mask=full, mask=full.copy()))
        occupied |= full

    for t in things:  # paint in order: a shaded colour with light noise
        colour = _random_colour(rng)
        ys, xs = np.nonzero(t['full_mask'])
        grad = rng.normal(0, 0.25, size=2)
        shade = (xs - xs.mean()) * grad[0] + (ys - ys.mean()) * grad[1]
        image[ys, xs] = colour[None, :] + shade[:, None] + rng.normal(0, 4, size=(len(ys), 3))
    for name in list(stuff):
        stuff[name] = stuff[name] & ~occupied
    covered = occupied.copy()
    for m in stuff.values():
        covered |= m
    stuff['background'] = ~covered
    stuff = {k: v for k, v in stuff.items() if v.any()}
    return dict(image=np.clip(image, 0, 255).astype(np.uint8), stuff=stuff, things=things)


def _bbox(mask: np.ndarray) -> List[float]:
    ys, xs = np.nonzero(mask)
    x0, y0 = float(xs.min()), float(ys.min())
    return [x0, y0, float(xs.max()) + 1 - x0, float(ys.max()) + 1 - y0]


def _write_png(path: str, rgb_or_gray: np.ndarray) -> None:
    arr = rgb_or_gray[..., ::-1] if rgb_or_gray.ndim == 3 else rgb_or_gray
    if not cv2.imwrite(path, np.ascontiguousarray(arr)):
        raise OSError(f'could not write {path}')


def _write_split(out_dir: str, split: str, num_images: int, seed: int, img_size: int, max_things: int) -> Dict:
    for sub in (f'images/{split}', f'semantic/{split}', f'annotations/panoptic_{split}', 'classification/meta'):
        os.makedirs(osp.join(out_dir, sub), exist_ok=True)
    for name in THING_CLASSES:
        os.makedirs(osp.join(out_dir, 'classification', split, name), exist_ok=True)

    coco_images, coco_anns, pan_anns, cls_lines = [], [], [], []
    ann_id = 1
    for idx in range(num_images):
        sample = draw_image(seed, split, idx, img_size, max_things)
        h, w = sample['image'].shape[:2]
        file_name = f'{idx:06d}.png'
        image_id = idx + 1
        _write_png(osp.join(out_dir, 'images', split, file_name), sample['image'])
        coco_images.append(dict(id=image_id, file_name=file_name, height=h, width=w))

        semantic = np.full((h, w), 255, dtype=np.uint8)
        panoptic = np.zeros((h, w), dtype=np.int64)
        segments = []
        pt_rng = np.random.default_rng([seed, _SPLIT_IDS[split], idx, 1])
        for k, t in enumerate(sample['things']):
            m = t['mask']
            occluded = bool((m != t['full_mask']).any())
            if occluded:
                rle = mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))
                segmentation = dict(size=[h, w], counts=rle['counts'].decode('ascii'))
            else:
                segmentation = [[round(float(v), 2) for v in t['polygon'].reshape(-1)]]
            ys, xs = np.nonzero(m)
            j = int(pt_rng.integers(len(xs)))
            bbox = _bbox(m)
            coco_anns.append(
                dict(id=ann_id, image_id=image_id, category_id=t['label'] + 1, bbox=bbox, area=int(m.sum()),
                     iscrowd=0, segmentation=segmentation, point=[float(xs[j]) + 0.5, float(ys[j]) + 0.5]))
            seg_id = ann_id  # unique across the split, never 0 (VOID)
            segments.append(dict(id=seg_id, category_id=t['label'] + 1, area=int(m.sum()), bbox=bbox, iscrowd=0))
            panoptic[m] = seg_id
            semantic[m] = t['label']
            ann_id += 1
            # classification crop: the instance's full extent with a margin, only when it is mostly unoccluded
            if m.sum() >= 0.9 * t['full_mask'].sum():
                x, y, bw, bh = _bbox(t['full_mask'])
                mx, my = 0.2 * bw, 0.2 * bh
                x0, y0 = int(max(0, x - mx)), int(max(0, y - my))
                x1, y1 = int(min(w, x + bw + mx)), int(min(h, y + bh + my))
                crop_name = f'{THING_CLASSES[t["label"]]}/{idx:06d}_{k:02d}.png'
                _write_png(osp.join(out_dir, 'classification', split, crop_name), sample['image'][y0:y1, x0:x1])
                cls_lines.append(f'{crop_name} {t["label"]}')
        for s_idx, (name, m) in enumerate(sorted(sample['stuff'].items())):
            cat = ALL_CLASSES.index(name) + 1
            seg_id = 1_000_000 + image_id * 16 + s_idx  # disjoint from the instance ids
            segments.append(dict(id=seg_id, category_id=cat, area=int(m.sum()), bbox=_bbox(m), iscrowd=0))
            panoptic[m] = seg_id
            semantic[m] = cat - 1
        assert (semantic != 255).all() and (panoptic != 0).all(), 'every pixel is labelled'
        _write_png(osp.join(out_dir, 'semantic', split, file_name), semantic)
        pan_rgb = np.stack([panoptic % 256, (panoptic // 256) % 256, panoptic // 65536], axis=-1).astype(np.uint8)
        _write_png(osp.join(out_dir, 'annotations', f'panoptic_{split}', file_name), pan_rgb)
        pan_anns.append(dict(image_id=image_id, file_name=file_name, segments_info=segments))

    inst_cats = [dict(id=i + 1, name=n, supercategory='shape') for i, n in enumerate(THING_CLASSES)]
    pan_cats = [dict(c, isthing=1) for c in inst_cats] + [
        dict(id=len(THING_CLASSES) + i + 1, name=n, supercategory='stuff', isthing=0)
        for i, n in enumerate(STUFF_CLASSES)
    ]
    info = dict(description='mmext Shapes', version=SHAPES_VERSION, seed=seed, split=split)
    with open(osp.join(out_dir, 'annotations', f'instances_{split}.json'), 'w') as f:
        json.dump(dict(info=info, images=coco_images, annotations=coco_anns, categories=inst_cats), f)
    with open(osp.join(out_dir, 'annotations', f'panoptic_{split}.json'), 'w') as f:
        json.dump(dict(info=info, images=coco_images, annotations=pan_anns, categories=pan_cats), f)
    with open(osp.join(out_dir, 'classification', 'meta', f'{split}.txt'), 'w') as f:
        f.write('\n'.join(cls_lines) + '\n')
    return dict(images=num_images, instances=len(coco_anns), crops=len(cls_lines))


def generate_shapes(out_dir: str,
                    num_train: int = 400,
                    num_val: int = 100,
                    img_size: int = 256,
                    seed: int = 0,
                    max_things: int = 6,
                    splits: Sequence[str] = ('train', 'val')) -> Dict:
    """Write a Shapes dataset with all its annotation formats into ``out_dir``.

    Args:
        out_dir (str): Output folder (created).
        num_train (int): Images in the train split. Defaults to 400.
        num_val (int): Images in the val split (also used for ``test``). Defaults to 100.
        img_size (int): Image side in pixels. Defaults to 256.
        seed (int): The one seed everything derives from. Defaults to 0.
        max_things (int): Most thing instances per image. Defaults to 6.
        splits (Sequence[str]): Splits to write. Defaults to ``('train', 'val')``.

    Returns:
        dict: The generator parameters and per-split counts, also written to ``shapes_meta.json``.
    """
    for key, value in (('num_train', num_train), ('num_val', num_val), ('img_size', img_size),
                       ('max_things', max_things)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f'generate_shapes: {key} must be a positive int, got {value!r}')
    if img_size < 32:
        raise ValueError(f'generate_shapes: img_size must be >= 32, got {img_size}')
    os.makedirs(out_dir, exist_ok=True)
    sizes = dict(train=num_train, val=num_val, test=num_val)
    counts = {s: _write_split(out_dir, s, sizes[s], seed, img_size, max_things) for s in splits}
    meta = dict(version=SHAPES_VERSION, params=shapes_params(num_train, num_val, img_size, seed, max_things, splits),
                thing_classes=list(THING_CLASSES), stuff_classes=list(STUFF_CLASSES), counts=counts)
    with open(osp.join(out_dir, 'shapes_meta.json'), 'w') as f:
        json.dump(meta, f, indent=2)
    return meta


def shapes_params(num_train: int = 400, num_val: int = 100, img_size: int = 256, seed: int = 0,
                  max_things: int = 6, splits: Sequence[str] = ('train', 'val')) -> Dict:
    """The parameters that identify a generated Shapes set (stored in ``shapes_meta.json``)."""
    return dict(num_train=num_train, num_val=num_val, img_size=img_size, seed=seed, max_things=max_things,
                splits=list(splits))
