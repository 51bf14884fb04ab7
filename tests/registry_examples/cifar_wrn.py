"""Registry examples: the CIFAR Wide-ResNet backbone (WRN-10-1, the smallest)."""
from typing import Callable, Dict

#: registered name -> function(tiny_shapes_root) -> config dict (with ``type``)
EXAMPLES: Dict[str, Callable[[str], dict]] = {
    'CifarWideResNet': lambda data_root: dict(type='CifarWideResNet', depth=10, widen_factor=1),
}
