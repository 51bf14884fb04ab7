"""Registry examples: ESSCNet (tiny), its data preprocessor, loss, metric and the SSC datasets."""
import os.path as osp
from typing import Callable, Dict

TINY_SHAPES3D = dict(num_train=2, num_val=2, shape=(32, 16, 32), seed=1, max_objects=3, splits=['train', 'val'])


def _shapes3d_root(data_root: str) -> str:
    from mmext.datasets.shapes3d import ensure_shapes3d
    root = osp.join(osp.dirname(data_root.rstrip('/')), 'shapes3d_tiny') + '/'
    ensure_shapes3d(root, TINY_SHAPES3D)
    return root


#: registered name -> function(tiny_shapes_root) -> config dict (with ``type``)
EXAMPLES: Dict[str, Callable[[str], dict]] = {
    'ESSCNet': lambda data_root: dict(type='ESSCNet', stem_channels=4, channels=8, num_levels=3,
                                      blocks_per_level=1),
    'SSCDataPreprocessor': lambda data_root: dict(type='SSCDataPreprocessor'),
    'SSCSelectedCELoss': lambda data_root: dict(type='SSCSelectedCELoss'),
    'SSCMetric': lambda data_root: dict(type='SSCMetric', num_classes=12),
    'SSCDataset': lambda data_root: dict(type='SSCDataset', data_root=_shapes3d_root(data_root),
                                         data_prefix=dict(scenes='scenes/val')),
    'Shapes3DSSCDataset': lambda data_root: dict(type='Shapes3DSSCDataset', data_root=_shapes3d_root(data_root),
                                                 shapes3d_cfg=TINY_SHAPES3D, data_prefix=dict(scenes='scenes/train')),
}
