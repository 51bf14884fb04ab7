"""Shapes semantic masks for mmsegmentation."""
from typing import Dict, Optional

from mmseg.datasets import BaseSegDataset

from ..registry import register
from .shapes import ALL_CLASSES, PALETTE, prepare_shapes_root

__all__ = ['ShapesSegDataset']


@register('DATASETS', scopes=['mmseg'])
class ShapesSegDataset(BaseSegDataset):
    """mmseg's :class:`BaseSegDataset` over the Shapes semantic masks (things then stuff, every pixel labelled).

    Args:
        shapes_cfg (dict, optional): Generator parameters (see :func:`mmext.datasets.shapes.generate_shapes`).
        auto_generate (bool): Generate the set under ``data_root`` when it is missing. Defaults to True.
        **kwargs: Everything :class:`mmseg.datasets.BaseSegDataset` takes; ``data_root`` is required.
    """

    METAINFO = dict(classes=ALL_CLASSES, palette=PALETTE)

    def __init__(self, *args, shapes_cfg: Optional[Dict] = None, auto_generate: bool = True, **kwargs) -> None:
        prepare_shapes_root(type(self).__name__, kwargs.get('data_root'), shapes_cfg, auto_generate)
        kwargs.setdefault('img_suffix', '.png')
        kwargs.setdefault('seg_map_suffix', '.png')
        super().__init__(*args, **kwargs)
