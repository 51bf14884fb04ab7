"""Shapes single-object crops (ImageNet-style folders) for mmpretrain."""
from typing import Dict, Optional

from mmpretrain.datasets import CustomDataset

from ..registry import register
from .shapes import THING_CLASSES, prepare_shapes_root

__all__ = ['ShapesClsDataset']


@register('DATASETS', scopes=['mmpretrain'])
class ShapesClsDataset(CustomDataset):
    """mmpretrain's :class:`CustomDataset` over the Shapes classification crops, generating them on first use.

    The split lives in ``classification/{split}/<class>/*.png`` with ``classification/meta/{split}.txt``
    (``<class>/<file> <label>`` lines), the ImageNet layout.

    Args:
        shapes_cfg (dict, optional): Generator parameters (see :func:`mmext.datasets.shapes.generate_shapes`).
        auto_generate (bool): Generate the set under ``data_root`` when it is missing. Defaults to True.
        **kwargs: Everything :class:`mmpretrain.datasets.CustomDataset` takes; ``data_root`` is required.
    """

    METAINFO = dict(classes=THING_CLASSES)

    def __init__(self, *args, shapes_cfg: Optional[Dict] = None, auto_generate: bool = True, **kwargs) -> None:
        prepare_shapes_root(type(self).__name__, kwargs.get('data_root'), shapes_cfg, auto_generate)
        super().__init__(*args, **kwargs)
