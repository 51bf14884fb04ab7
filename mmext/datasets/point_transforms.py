"""Point annotations as a field of ``gt_instances`` through mmdet 3.x's transforms.

Group R-CNN (Zhang et al., "Group R-CNN for Point-based Weakly Semi-supervised Object Detection", CVPR 2022,
arXiv:2205.05920) gives every instance one annotated point. The release concatenated the points after the boxes in
``gt_bboxes``; here they travel as ``results['gt_points']`` (``float32`` array of shape (N, 2), one row per
instance, aligned with ``gt_bboxes`` / ``gt_bboxes_labels``) and end in ``data_sample.gt_instances.points``.

* :class:`LoadPointAnnotations` reads ``instance['point']`` (after ``LoadAnnotations``) and, for box-labelled
  training images (``results['sample_point_in_box']``), re-samples the point uniformly in the central 98 % of
  the box on every call, as the release does.
* :class:`PointResize`, :class:`PointRandomFlip`, :class:`PointRandomCrop` are mmdet's ``Resize`` /
  ``RandomFlip`` / ``RandomCrop`` that move the points with the image; the crop drops each point together with
  its box and clips the others to the crop (a point inside its box stays inside the clipped box).
* :class:`PackPointDetInputs` is ``PackDetInputs`` that also packs ``gt_points`` as ``gt_instances.points``.
"""
from typing import Optional, Tuple, Union

import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness
from mmdet.datasets.transforms import PackDetInputs, RandomCrop, RandomFlip, Resize

from ..registry import register

__all__ = ['LoadPointAnnotations', 'PointResize', 'PointRandomFlip', 'PointRandomCrop', 'PackPointDetInputs']


def _parse_point(point, where: str) -> Tuple[float, float]:
    """Accept ``[x, y]`` (Shapes) or ``[x, y, x, y]`` (the release / ``coco_to_points.py``)."""
    if not isinstance(point, (list, tuple, np.ndarray)) or len(point) not in (2, 4):
        raise ValueError(f'{where}: "point" must be [x, y] or [x, y, x, y], got {point!r}')
    return float(point[0]), float(point[1])


@register('TRANSFORMS', scopes=['mmdet'])
class LoadPointAnnotations(BaseTransform):
    """Load one point per instance into ``results['gt_points']`` (N, 2).

    Put it after ``LoadAnnotations(with_bbox=True)``: mmdet loads every entry of ``results['instances']`` (ignored
    ones included) in order, and so does this transform, so row ``i`` of ``gt_points`` belongs to row ``i`` of
    ``gt_bboxes``.

    Args:
        resample_in_box (bool, optional): Re-sample the point uniformly in ``[x1 + m*w, x1 + (1-m)*w] x
            [y1 + m*h, y1 + (1-m)*h]`` of its box. ``None`` (default) follows the dataset's per-image flag
            ``sample_point_in_box`` (True for box-labelled training images), as the release does.
        margin (float): The margin ``m`` of the re-sampling. Defaults to 0.01 (the central 98 % of the box).
    """

    def __init__(self, resample_in_box: Optional[bool] = None, margin: float = 0.01) -> None:
        if not 0 <= margin < 0.5:
            raise ValueError(f'LoadPointAnnotations: margin must be in [0, 0.5), got {margin}')
        self.resample_in_box = resample_in_box
        self.margin = margin

    def transform(self, results: dict) -> dict:
        instances = results.get('instances', [])
        resample = self.resample_in_box
        if resample is None:
            resample = bool(results.get('sample_point_in_box', False))
        if resample:
            if 'gt_bboxes' not in results:
                raise KeyError('LoadPointAnnotations(resample_in_box): results has no "gt_bboxes"; put '
                               'LoadAnnotations(with_bbox=True) before LoadPointAnnotations')
            boxes = results['gt_bboxes']
            boxes = boxes.numpy() if hasattr(boxes, 'numpy') else np.asarray(boxes, dtype=np.float32)
            boxes = boxes.reshape(-1, 4)
            wh = boxes[:, 2:] - boxes[:, :2]
            low = boxes[:, :2] + self.margin * wh
            high = boxes[:, :2] + (1 - self.margin) * wh
            points = np.random.uniform(low, high, size=low.shape) if len(boxes) else low
        else:
            points = []
            for i, inst in enumerate(instances):
                if 'point' not in inst:
                    raise KeyError(f'LoadPointAnnotations: instance {i} of {results.get("img_path")} has no '
                                   f'"point"; convert the annotations with tools/dataset_converters/'
                                   f'coco_to_points.py or use a dataset that loads points (PointCocoDataset)')
                points.append(_parse_point(inst['point'], f'instance {i} of {results.get("img_path")}'))
        results['gt_points'] = np.asarray(points, dtype=np.float32).reshape(-1, 2)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(resample_in_box={self.resample_in_box}, margin={self.margin})'


def _clip_points(points: np.ndarray, img_shape: Tuple[int, int]) -> np.ndarray:
    """Clip (x, y) points to ``[0, w] x [0, h]``, the range mmdet clips boxes to."""
    points[:, 0] = points[:, 0].clip(0, img_shape[1])
    points[:, 1] = points[:, 1].clip(0, img_shape[0])
    return points


@register('TRANSFORMS', scopes=['mmdet'])
class PointResize(Resize):
    """mmdet's ``Resize`` that also rescales ``gt_points`` (and clips them when ``clip_object_border``)."""

    def transform(self, results: dict) -> dict:
        results = super().transform(results)
        if results.get('gt_points', None) is not None:
            w_scale, h_scale = results['scale_factor']
            points = results['gt_points'] * np.array([w_scale, h_scale], dtype=np.float32)
            if self.clip_object_border:
                points = _clip_points(points, results['img_shape'])
            results['gt_points'] = points.astype(np.float32)
        return results


@register('TRANSFORMS', scopes=['mmdet'])
class PointRandomFlip(RandomFlip):
    """mmdet's ``RandomFlip`` that also flips ``gt_points`` (x -> w - x, y -> h - y, as boxes flip)."""

    def _flip(self, results: dict) -> None:
        super()._flip(results)
        if results.get('gt_points', None) is None:
            return
        h, w = results['img'].shape[:2]
        points = results['gt_points'].copy()
        direction = results['flip_direction']
        if direction in ('horizontal', 'diagonal'):
            points[:, 0] = w - points[:, 0]
        if direction in ('vertical', 'diagonal'):
            points[:, 1] = h - points[:, 1]
        results['gt_points'] = points


@register('TRANSFORMS', scopes=['mmdet'])
class PointRandomCrop(RandomCrop):
    """mmdet's ``RandomCrop`` that crops ``gt_points`` with the boxes (the release's ``PointRandomCrop``).

    A point is kept exactly when mmdet keeps its box (mmdet tracks which boxes survive through
    ``gt_instances_ids``; this transform uses the same field when the pipeline does not carry one), translated by
    the crop offset and clipped to the crop when ``bbox_clip_border``.
    """

    _ID_KEY = 'gt_instances_ids'

    @cache_randomness
    def _rand_offset(self, margin: Tuple[int, int]) -> Tuple[int, int]:
        offset = super()._rand_offset(margin)
        self._last_offset = offset
        return offset

    def _crop_data(self, results: dict, crop_size: Tuple[int, int],
                   allow_negative_crop: bool) -> Union[dict, None]:
        points = results.get('gt_points', None)
        if points is None or results.get('gt_bboxes', None) is None:
            return super()._crop_data(results, crop_size, allow_negative_crop)
        if len(points) != len(results['gt_bboxes']):
            raise ValueError(f'PointRandomCrop: {len(points)} gt_points for {len(results["gt_bboxes"])} gt_bboxes; '
                             f'every instance needs exactly one point')
        own_ids = self._ID_KEY not in results
        saved_ids = results.get(self._ID_KEY)
        results[self._ID_KEY] = np.arange(len(points))
        out = super()._crop_data(results, crop_size, allow_negative_crop)
        if out is None:
            if not own_ids:
                results[self._ID_KEY] = saved_ids
            return None
        kept = out[self._ID_KEY]
        if own_ids:
            del out[self._ID_KEY]
        else:
            out[self._ID_KEY] = saved_ids[kept]
        offset_h, offset_w = self._last_offset
        points = points[kept] - np.array([offset_w, offset_h], dtype=np.float32)
        if self.bbox_clip_border:
            points = _clip_points(points, out['img_shape'])
        out['gt_points'] = points.astype(np.float32)
        return out


@register('TRANSFORMS', scopes=['mmdet'])
class PackPointDetInputs(PackDetInputs):
    """``PackDetInputs`` that also packs ``results['gt_points']`` into ``data_sample.gt_instances.points``."""

    mapping_table = dict(PackDetInputs.mapping_table, gt_points='points')
