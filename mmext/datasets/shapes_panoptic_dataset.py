"""Shapes in COCO panoptic format for mmdet."""
from typing import Dict, Optional

from mmdet.datasets import CocoPanopticDataset

from ..registry import register
from .shapes import ALL_CLASSES, PALETTE, STUFF_CLASSES, THING_CLASSES, prepare_shapes_root

__all__ = ['ShapesPanopticDataset']


@register('DATASETS', scopes=['mmdet'])
class ShapesPanopticDataset(CocoPanopticDataset):
    """mmdet's :class:`CocoPanopticDataset` over the Shapes set (things and stuff), generating it on first use.

    Args:
        shapes_cfg (dict, optional): Generator parameters (see :func:`mmext.datasets.shapes.generate_shapes`).
        auto_generate (bool): Generate the set under ``data_root`` when it is missing. Defaults to True.
        **kwargs: Everything :class:`mmdet.datasets.CocoPanopticDataset` takes; ``data_root`` is required.
    """

    METAINFO = dict(classes=ALL_CLASSES, thing_classes=THING_CLASSES, stuff_classes=STUFF_CLASSES, palette=PALETTE)

    def __init__(self, *args, shapes_cfg: Optional[Dict] = None, auto_generate: bool = True, **kwargs) -> None:
        prepare_shapes_root(type(self).__name__, kwargs.get('data_root'), shapes_cfg, auto_generate)
        super().__init__(*args, **kwargs)
