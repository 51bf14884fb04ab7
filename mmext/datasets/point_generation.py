"""One annotated point per COCO instance, as Group R-CNN's ``tools/generate_anns.py`` makes them.

Group R-CNN (Zhang et al., CVPR 2022, arXiv:2205.05920) simulates point annotations by picking one pixel uniformly
from each instance mask (seeded); an instance without a usable mask gets a point drawn uniformly in its box. The
point is stored as ``ann['point'] = [x, y, x, y]`` (the release's layout; :class:`PointCocoDataset` also reads
``[x, y]``), at the centre of the chosen pixel (the release stores the pixel's integer corner).
"""
import copy
from typing import Dict

import numpy as np

__all__ = ['add_points_to_coco']


def _instance_mask(segm, height: int, width: int):
    """Decode a COCO polygon / RLE / uncompressed-RLE segmentation; ``None`` when there is none."""
    if not segm:
        return None
    from pycocotools import mask as mask_utils
    if isinstance(segm, list):
        polys = [p for p in segm if len(p) >= 6]
        if not polys:
            return None
        rle = mask_utils.merge(mask_utils.frPyObjects(polys, height, width))
    elif isinstance(segm, dict) and isinstance(segm.get('counts'), list):
        rle = mask_utils.frPyObjects(segm, height, width)
    elif isinstance(segm, dict) and 'counts' in segm:
        rle = segm
    else:
        raise ValueError(f'unknown COCO segmentation format: {type(segm).__name__}')
    return mask_utils.decode(rle)


def add_points_to_coco(coco: Dict, seed: int = 0) -> Dict:
    """Return a copy of a COCO instances dict with ``point`` = [x, y, x, y] on every annotation.

    Args:
        coco (dict): COCO instances (``images``, ``annotations`` with ``bbox`` and optional ``segmentation``).
        seed (int): Seed of the point sampling (annotations are visited in file order). Defaults to 0.

    Returns:
        dict: The new dataset; the input is not modified.
    """
    for key in ('images', 'annotations'):
        if key not in coco:
            raise KeyError(f'add_points_to_coco: the COCO dict has no {key!r}')
    out = copy.deepcopy(coco)
    sizes = {img['id']: (img['height'], img['width']) for img in out['images']}
    rng = np.random.RandomState(seed)
    for ann in out['annotations']:
        if ann['image_id'] not in sizes:
            raise KeyError(f'add_points_to_coco: annotation {ann.get("id")} refers to unknown image_id '
                           f'{ann["image_id"]}')
        height, width = sizes[ann['image_id']]
        mask = _instance_mask(ann.get('segmentation'), height, width)
        if mask is not None and mask.any():
            ys, xs = np.nonzero(mask)
            i = rng.randint(len(xs))
            x, y = float(xs[i]) + 0.5, float(ys[i]) + 0.5
        else:
            x1, y1, w, h = ann['bbox']
            x, y = float(rng.uniform(x1, x1 + w)), float(rng.uniform(y1, y1 + h))
        ann['point'] = [x, y, x, y]
    return out
