"""Registry examples: the Shapes dataset classes."""
import os.path as osp
from typing import Callable, Dict

from mmengine.config import Config

from tests.conftest import REPO, TINY_SHAPES


def _shapes_dataset(base: str) -> Callable[[str], dict]:
    def make(data_root: str) -> dict:
        cfg = Config.fromfile(osp.join(REPO, 'configs/_base_/datasets', base))
        ds = cfg.val_dataloader.dataset.to_dict()
        ds.update(data_root=data_root, shapes_cfg=TINY_SHAPES)
        return ds

    return make


#: registered name -> function(tiny_shapes_root) -> config dict (with ``type``)
EXAMPLES: Dict[str, Callable[[str], dict]] = {
    'ShapesDetDataset': _shapes_dataset('shapes_detection.py'),
    'ShapesPanopticDataset': _shapes_dataset('shapes_panoptic.py'),
    'ShapesSegDataset': _shapes_dataset('shapes_semantic.py'),
    'ShapesClsDataset': _shapes_dataset('shapes_classification.py'),
}
