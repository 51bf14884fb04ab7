"""Registry examples: the V1c / V1d variants of OD-ResNet and KW-ResNet (drop-ins for ResNetV1c / ResNetV1d)."""
from typing import Callable, Dict

EXAMPLES: Dict[str, Callable[[str], dict]] = {
    'ODResNetV1c': lambda data_root: dict(type='ODResNetV1c', depth=18, base_channels=16),
    'ODResNetV1d': lambda data_root: dict(type='ODResNetV1d', depth=18, base_channels=16),
    'KWResNetV1c': lambda data_root: dict(type='KWResNetV1c', depth=18, base_channels=16),
    'KWResNetV1d': lambda data_root: dict(type='KWResNetV1d', depth=18, base_channels=16),
}
