"""Write Group R-CNN's pseudo boxes as a COCO results json and score them on the images that were run.

Group R-CNN (Zhang et al., CVPR 2022, arXiv:2205.05920) turns the points of the point-only training images into
boxes, which a student detector then trains on. With this metric, ``tools/test.py`` on the point-only split writes
``<outfile_prefix>.bbox.json`` (the format :class:`~mmext.datasets.PointCocoDataset` reads as ``pseudo_ann_file``)
and, where the annotation file has the true boxes, reports their COCO AP over the images actually evaluated (plain
``CocoMetric`` would count every other image of the annotation file as missed).
"""
import os
import os.path as osp
from typing import Dict, Optional

from mmdet.evaluation.metrics import CocoMetric

from ...registry import register

__all__ = ['PseudoBoxCocoMetric']


@register('METRICS', scopes=['mmdet'])
class PseudoBoxCocoMetric(CocoMetric):
    """``CocoMetric`` (bbox) restricted to the evaluated images, always writing ``<outfile_prefix>.bbox.json``.

    Args:
        outfile_prefix (str): Prefix of the written json (required), e.g. ``'work_dirs/teacher/pseudo'``.
        format_only (bool): Only write the json (for annotation files without boxes). Defaults to False.
        **kwargs: Everything :class:`mmdet.evaluation.metrics.CocoMetric` takes (``ann_file`` ...).
    """

    def __init__(self, outfile_prefix: Optional[str] = None, metric: str = 'bbox', **kwargs) -> None:
        if not outfile_prefix:
            raise ValueError('PseudoBoxCocoMetric: outfile_prefix is required (the pseudo boxes are written to '
                             '<outfile_prefix>.bbox.json)')
        if metric != 'bbox':
            raise ValueError(f'PseudoBoxCocoMetric: metric must be "bbox", got {metric!r}')
        super().__init__(outfile_prefix=outfile_prefix, metric=metric, **kwargs)

    def compute_metrics(self, results: list) -> Dict[str, float]:
        out_dir = osp.dirname(self.outfile_prefix)
        if out_dir:
            os.makedirs(out_dir, exist_ok=True)
        self.img_ids = sorted({int(pred['img_id']) for _, pred in results})
        return super().compute_metrics(results)
