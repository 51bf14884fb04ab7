"""Datasets: the Shapes generator (always) and its dataset classes for each installed downstream package."""
from ..registry import available_scopes
from .shapes import ensure_shapes, generate_shapes

__all__ = ['ensure_shapes', 'generate_shapes']

if 'mmdet' in available_scopes():
    from .shapes_det_dataset import ShapesDetDataset  # noqa: F401
    from .shapes_panoptic_dataset import ShapesPanopticDataset  # noqa: F401
    __all__ += ['ShapesDetDataset', 'ShapesPanopticDataset']
    from .point_coco_dataset import PointCocoDataset, ShapesPointDataset  # noqa: F401
    from .point_transforms import (LoadPointAnnotations, PackPointDetInputs, PointRandomCrop,  # noqa: F401
                                   PointRandomFlip, PointResize)
    __all__ += ['PointCocoDataset', 'ShapesPointDataset', 'LoadPointAnnotations', 'PackPointDetInputs',
                'PointRandomCrop', 'PointRandomFlip', 'PointResize']
if 'mmseg' in available_scopes():
    from .shapes_seg_dataset import ShapesSegDataset  # noqa: F401
    from .ssc_dataset import Shapes3DSSCDataset, SSCDataset  # noqa: F401
    __all__ += ['ShapesSegDataset', 'Shapes3DSSCDataset', 'SSCDataset']
if 'mmpretrain' in available_scopes():
    from .shapes_cls_dataset import ShapesClsDataset  # noqa: F401
    __all__ += ['ShapesClsDataset']
