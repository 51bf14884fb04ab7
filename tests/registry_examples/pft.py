"""Registry examples: the PFT decode head (mmseg), as configured for Shapes."""
import os.path as osp
from typing import Callable, Dict

from mmengine.config import Config

from tests.conftest import REPO

PFT_SHAPES = 'configs/pft/pft_r18-w32_1xb4-shapes-128x128.py'


def _pft_head(data_root: str) -> dict:
    return Config.fromfile(osp.join(REPO, PFT_SHAPES)).model.decode_head.to_dict()


#: registered name -> function(tiny_shapes_root) -> config dict (with ``type``)
EXAMPLES: Dict[str, Callable[[str], dict]] = {'PFTHead': _pft_head}
