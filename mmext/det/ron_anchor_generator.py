"""Anchors of RON, equal to the authors' Caffe generator (py-faster-rcnn ``generate_anchors``).

Paper: Kong et al., "RON: Reverse Connection with Objectness Prior Networks for Object Detection", CVPR 2017,
arXiv:1707.01691 (``lib/ron_layer/generate_anchors.py``, ``cfg.MINANCHOR``).
"""
from typing import List, Optional, Sequence, Tuple

import numpy as np
from mmdet.models.task_modules.prior_generators import YOLOAnchorGenerator

from ..registry import register

__all__ = ['RONAnchorGenerator', 'caffe_anchor_sizes']


def caffe_anchor_sizes(base_size: int, ratios: Sequence[float], scales: Sequence[float]) -> List[Tuple[int, int]]:
    """(w, h) of py-faster-rcnn's anchors for one level: ratio-major, scale inner, with its rounding.

    For each ratio r: ``w = round(sqrt(base_size**2 / r))``, ``h = round(w * r)`` (numpy's round half to even),
    then both are multiplied by each scale.
    """
    area = float(base_size * base_size)
    sizes = []
    for ratio in ratios:
        w = np.round(np.sqrt(area / ratio))
        h = np.round(w * ratio)
        sizes.extend((int(w * s), int(h * s)) for s in scales)
    return sizes


@register('TASK_UTILS', scopes=['mmdet'])
class RONAnchorGenerator(YOLOAnchorGenerator):
    """Per-level explicit anchor sizes from the Caffe generator, centred like it.

    RON's Caffe code builds every level's anchors around the base window (0, 0, base-1, base-1), so every anchor is
    centred at ``(center_offset + x * stride, center_offset + y * stride)`` with ``center_offset = (base-1)/2 =
    15.5`` on all levels (not ``stride / 2``). Sizes per level are ``caffe_anchor_sizes(base_size, ratios,
    (s, s+1))`` with s = 1, 3, 5, 7: at base 32, squares of 32/64, 96/128, 160/192, 224/256 on strides 8, 16, 32,
    64, and 10 anchors per location. Boxes are ``centre -/+ size / 2`` (mmdet's continuous convention).

    Args:
        strides (Sequence[int]): Level strides. Defaults to (8, 16, 32, 64).
        base_size (int): ``cfg.MINANCHOR`` (32; the release suggests 38 for 384 input). Defaults to 32.
        ratios (Sequence[float]): h / w ratios. Defaults to (0.333, 0.5, 1, 2, 3).
        scales (Sequence[Sequence[float]], optional): Scales per level. Defaults to ((1, 2), (3, 4), (5, 6), (7, 8))
            for 4 levels, i.e. (2k-1, 2k).
        center_offset (float, optional): Anchor centre offset in pixels on every level. Defaults to
            ``(base_size - 1) / 2``.
    """

    def __init__(self,
                 strides: Sequence[int] = (8, 16, 32, 64),
                 base_size: int = 32,
                 ratios: Sequence[float] = (0.333, 0.5, 1.0, 2.0, 3.0),
                 scales: Optional[Sequence[Sequence[float]]] = None,
                 center_offset: Optional[float] = None) -> None:
        strides = list(strides)
        if scales is None:
            scales = [(2 * k + 1, 2 * k + 2) for k in range(len(strides))]
        if len(scales) != len(strides):
            raise ValueError(f'RONAnchorGenerator: scales must have one entry per stride ({len(strides)}), '
                             f'got {len(scales)}')
        if base_size <= 0 or any(r <= 0 for r in ratios):
            raise ValueError(f'RONAnchorGenerator: base_size and ratios must be > 0, got {base_size}, {ratios}')
        self.base_size = base_size
        self.center_offset = (base_size - 1) / 2.0 if center_offset is None else float(center_offset)
        base_sizes = [caffe_anchor_sizes(base_size, ratios, level_scales) for level_scales in scales]
        super().__init__(strides=strides, base_sizes=base_sizes)
        self.centers = [(self.center_offset, self.center_offset) for _ in self.strides]
        self.base_anchors = self.gen_base_anchors()
