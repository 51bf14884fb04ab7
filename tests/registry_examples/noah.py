"""Registry examples: the NOAH heads (mmpretrain scope)."""
from typing import Callable, Dict

#: registered name -> function(tiny_shapes_root) -> config dict (with ``type``)
EXAMPLES: Dict[str, Callable[[str], dict]] = {
    'NOAHHead': lambda data_root: dict(type='NOAHHead', num_classes=5, in_channels=32, head_num=4, key_ratio=0.5),
    'NOAHMultiLabelClsHead': lambda data_root: dict(type='NOAHMultiLabelClsHead', num_classes=5, in_channels=32,
                                                    head_num=4, key_ratio=0.5),
}
