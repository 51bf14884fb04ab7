"""Registry examples: the KernelWarehouse KWLinear classification head (mmpretrain scope)."""
from typing import Callable, Dict

#: registered name -> function(tiny_shapes_root) -> config dict (with ``type``)
EXAMPLES: Dict[str, Callable[[str], dict]] = {
    'KWLinearClsHead': lambda data_root: dict(type='KWLinearClsHead', num_classes=5, in_channels=80),
}
