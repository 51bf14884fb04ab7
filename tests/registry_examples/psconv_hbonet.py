"""Registry examples: PS-ResNet / PS-ResNeXt (PSConv) and HBONet backbones (small settings)."""
from typing import Callable, Dict

EXAMPLES: Dict[str, Callable[[str], dict]] = {
    'PSResNet': lambda data_root: dict(type='PSResNet', depth=50, base_channels=16, out_indices=(0, 1, 2, 3)),
    'PSResNeXt': lambda data_root: dict(type='PSResNeXt', depth=50, groups=4, base_width=16, base_channels=16),
    'HBONet': lambda data_root: dict(type='HBONet', widen_factor=0.25, out_indices=(2, 3, 6, 9)),
}
