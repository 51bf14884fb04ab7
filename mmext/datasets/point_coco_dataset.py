"""COCO with one point per instance, split into box-labelled and point-only images (Group R-CNN's protocol).

Group R-CNN (Zhang et al., "Group R-CNN for Point-based Weakly Semi-supervised Object Detection", CVPR 2022,
arXiv:2205.05920): a seeded fraction of the training images keeps its boxes, the rest keeps only one point per
instance. The teacher trains on the box-labelled images (with a point re-sampled inside each box every iteration),
turns the points of the point-only images into boxes (``tools/test.py`` with :class:`PseudoBoxCocoMetric`), and a
student trains on the box-labelled images plus those pseudo boxes.
"""
import json
import os.path as osp
from collections import defaultdict
from typing import Dict, List, Optional

import numpy as np
from mmdet.datasets import CocoDataset

from ..registry import register
from .point_transforms import _parse_point
from .shapes import PALETTE, THING_CLASSES, prepare_shapes_root

__all__ = ['PointCocoDataset', 'ShapesPointDataset']

_SPLITS = ('box', 'point', 'all')


@register('DATASETS', scopes=['mmdet'])
class PointCocoDataset(CocoDataset):
    """mmdet's :class:`CocoDataset` with point annotations and the box / point split of Group R-CNN.

    Each annotation needs ``point`` as ``[x, y]`` (the Shapes format) or ``[x, y, x, y]`` (the release and
    ``tools/dataset_converters/coco_to_points.py``); it is kept as ``instance['point']``.

    The split (as the release's ``PointCocoDataset.split_data``): after mmdet's image filtering (``filter_cfg``,
    applied here in test mode too so that every run sees the same list), ``int(box_ratio * N)`` images are drawn
    without replacement with ``np.random.RandomState(split_seed)``; they are the box-labelled images.

    Args:
        box_ratio (float): Fraction of box-labelled images, in [0, 1]. Defaults to 0.1.
        split_seed (int): Seed of the split. Defaults to 0 (the release's).
        split (str): Which images this dataset yields: ``'box'`` (box-labelled; teacher training, lower-bound
            student), ``'point'`` (point-only; pseudo-box generation) or ``'all'``. Defaults to ``'box'``.
        with_point (bool): Read the points (an annotation without one is an error). Defaults to True.
        pseudo_ann_file (str, optional): COCO *results* json (list of ``image_id``, ``bbox`` [x, y, w, h],
            ``score``, ``category_id``) written by :class:`PseudoBoxCocoMetric`; the boxes of the point-only images
            are replaced by these pseudo boxes (student training). Relative paths are under ``data_root``.
        pseudo_score_thr (float): Keep pseudo boxes with ``score > pseudo_score_thr``. Defaults to 0 (the
            release's ``student_thr``).
        **kwargs: Everything :class:`mmdet.datasets.CocoDataset` takes.
    """

    def __init__(self,
                 *args,
                 box_ratio: float = 0.1,
                 split_seed: int = 0,
                 split: str = 'box',
                 with_point: bool = True,
                 pseudo_ann_file: Optional[str] = None,
                 pseudo_score_thr: float = 0.,
                 **kwargs) -> None:
        if not 0 <= box_ratio <= 1:
            raise ValueError(f'PointCocoDataset: box_ratio must be in [0, 1], got {box_ratio}')
        if split not in _SPLITS:
            raise ValueError(f'PointCocoDataset: split must be one of {_SPLITS}, got {split!r}')
        self.box_ratio = box_ratio
        self.split_seed = split_seed
        self.split = split
        self.with_point = with_point
        self.pseudo_ann_file = pseudo_ann_file
        self.pseudo_score_thr = pseudo_score_thr
        self.box_img_ids: List[int] = []
        super().__init__(*args, **kwargs)

    # ------------------------------------------------------------------ parsing
    def parse_data_info(self, raw_data_info: dict) -> Dict:
        """CocoDataset's parsing, one annotation at a time so that each kept instance gets its own point."""
        data_info = super().parse_data_info(dict(raw_data_info, raw_ann_info=[]))
        img_info = raw_data_info['raw_img_info']
        for ann in raw_data_info['raw_ann_info']:
            kept = super().parse_data_info(dict(raw_img_info=img_info, raw_ann_info=[ann]))['instances']
            if not kept:
                continue
            inst = kept[0]
            if self.with_point:
                if 'point' not in ann:
                    raise KeyError(f'PointCocoDataset: annotation id {ann.get("id")} of image '
                                   f'{img_info["file_name"]} in {self.ann_file} has no "point"; generate points '
                                   f'with tools/dataset_converters/coco_to_points.py (or set with_point=False)')
                inst['point'] = list(_parse_point(ann['point'], f'annotation id {ann.get("id")}'))
            data_info['instances'].append(inst)
        return data_info

    # ------------------------------------------------------------------ split
    def filter_data(self) -> List[dict]:
        """mmdet's filtering (in test mode too), then the seeded box / point split and the pseudo boxes."""
        test_mode = self.test_mode
        self.test_mode = False
        try:
            data_list = super().filter_data()
        finally:
            self.test_mode = test_mode
        num_box = int(self.box_ratio * len(data_list))
        chosen = np.random.RandomState(self.split_seed).choice(len(data_list), size=num_box, replace=False)
        is_box = np.zeros(len(data_list), dtype=bool)
        is_box[chosen] = True
        self.box_img_ids = sorted(int(data_list[i]['img_id']) for i in chosen)
        for info, box in zip(data_list, is_box):
            info['with_box_ann'] = bool(box)
            # the release re-samples the training point inside the box of box-labelled images
            info['sample_point_in_box'] = bool(box) and not self.test_mode and self.with_point
        if self.pseudo_ann_file is not None:
            data_list = self._apply_pseudo_boxes(data_list)
        if self.split == 'box':
            return [d for d in data_list if d['with_box_ann']]
        if self.split == 'point':
            return [d for d in data_list if not d['with_box_ann']]
        return data_list

    def _apply_pseudo_boxes(self, data_list: List[dict]) -> List[dict]:
        """Replace the instances of the point-only images by the pseudo boxes of ``pseudo_ann_file``."""
        path = self.pseudo_ann_file
        if self.data_root and not osp.isabs(path) and not osp.exists(path):
            path = osp.join(self.data_root, path)
        if not osp.exists(path):
            raise FileNotFoundError(f'PointCocoDataset: pseudo_ann_file {self.pseudo_ann_file!r} not found; write '
                                    f'it with tools/test.py and PseudoBoxCocoMetric (see configs/group_rcnn)')
        with open(path) as f:
            preds = json.load(f)
        if not isinstance(preds, list) or (preds and not {'image_id', 'bbox', 'category_id'} <= set(preds[0])):
            raise ValueError(f'PointCocoDataset: pseudo_ann_file {path} must be a COCO results list of dicts with '
                             f'image_id, bbox, score, category_id')
        by_img = defaultdict(list)
        for p in preds:
            by_img[int(p['image_id'])].append(p)
        box_ids = set(self.box_img_ids)
        point_ids = {int(d['img_id']) for d in data_list} - box_ids
        if by_img and not set(by_img) & point_ids:
            raise ValueError(f'PointCocoDataset: none of the {len(by_img)} images in {path} is a point-only image '
                             f'of this split (box_ratio={self.box_ratio}, split_seed={self.split_seed}); the pseudo '
                             f'boxes were written with another split or dataset')
        out = []
        for info in data_list:
            if info['with_box_ann']:
                out.append(info)
                continue
            instances = []
            for p in by_img.get(int(info['img_id']), []):
                if p.get('score', 1.) <= self.pseudo_score_thr or p['category_id'] not in self.cat2label:
                    continue
                x, y, w, h = p['bbox']
                instances.append(dict(bbox=[x, y, x + w, y + h], bbox_label=self.cat2label[p['category_id']],
                                      ignore_flag=0))
            info['instances'] = instances
            if instances or self.test_mode:
                out.append(info)
        return out


@register('DATASETS', scopes=['mmdet'])
class ShapesPointDataset(PointCocoDataset):
    """:class:`PointCocoDataset` over the Shapes set (whose annotations store a ``point``), generated on first use.

    Args:
        shapes_cfg (dict, optional): Generator parameters (see :func:`mmext.datasets.shapes.generate_shapes`).
        auto_generate (bool): Generate the set under ``data_root`` when it is missing. Defaults to True.
        **kwargs: Everything :class:`PointCocoDataset` takes; ``data_root`` is required.
    """

    METAINFO = dict(classes=THING_CLASSES, palette=PALETTE[:len(THING_CLASSES)])

    def __init__(self, *args, shapes_cfg: Optional[Dict] = None, auto_generate: bool = True, **kwargs) -> None:
        prepare_shapes_root(type(self).__name__, kwargs.get('data_root'), shapes_cfg, auto_generate)
        super().__init__(*args, **kwargs)
