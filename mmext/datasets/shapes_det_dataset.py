"""Shapes in COCO instance format for mmdet (detection, instance segmentation, point annotations)."""
from typing import Dict, Optional

from mmdet.datasets import CocoDataset

from ..registry import register
from .shapes import PALETTE, THING_CLASSES, prepare_shapes_root

__all__ = ['ShapesDetDataset']


@register('DATASETS', scopes=['mmdet'])
class ShapesDetDataset(CocoDataset):
    """mmdet's :class:`CocoDataset` over the Shapes set, generating it on first use.

    Each annotation also carries ``point`` (x, y), one point inside the instance's mask, which is kept in the
    instance dict as ``point`` for point-supervised detectors.

    Args:
        shapes_cfg (dict, optional): Generator parameters (see :func:`mmext.datasets.shapes.generate_shapes`).
        auto_generate (bool): Generate the set under ``data_root`` when it is missing. Defaults to True.
        **kwargs: Everything :class:`mmdet.datasets.CocoDataset` takes; ``data_root`` is required.
    """

    METAINFO = dict(classes=THING_CLASSES, palette=PALETTE[:len(THING_CLASSES)])

    def __init__(self, *args, shapes_cfg: Optional[Dict] = None, auto_generate: bool = True, **kwargs) -> None:
        prepare_shapes_root(type(self).__name__, kwargs.get('data_root'), shapes_cfg, auto_generate)
        super().__init__(*args, **kwargs)

    def parse_data_info(self, raw_data_info: dict) -> Dict:
        data_info = super().parse_data_info(raw_data_info)
        kept = [a for a in raw_data_info['raw_ann_info'] if self._kept(a)]
        if len(kept) == len(data_info['instances']):
            for inst, ann in zip(data_info['instances'], kept):
                if 'point' in ann:
                    inst['point'] = ann['point']
        return data_info

    def _kept(self, ann: dict) -> bool:
        """Mirror of CocoDataset.parse_data_info's filter, so points stay aligned with instances."""
        if ann.get('ignore', False):
            return False
        x1, y1, w, h = ann['bbox']
        return not (ann['area'] <= 0 or w < 1 or h < 1 or ann['category_id'] not in self.cat_ids)
