"""Registry examples: ODConv / KernelWarehouse backbones and their temperature hooks (small settings)."""
from typing import Callable, Dict

EXAMPLES: Dict[str, Callable[[str], dict]] = {
    'ODResNet': lambda data_root: dict(type='ODResNet', depth=18, kernel_num=2, out_indices=(1, 2, 3)),
    'ODMobileNetV2': lambda data_root: dict(type='ODMobileNetV2', widen_factor=0.5, kernel_num=1),
    'KWResNet': lambda data_root: dict(type='KWResNet', depth=18, cell_num_ratio=0.25, cell_inplane_ratio=0.5,
                                       cell_outplane_ratio=0.5),
    'KWMobileNetV2': lambda data_root: dict(type='KWMobileNetV2', widen_factor=0.5),
    'KWConvNeXt': lambda data_root: dict(type='KWConvNeXt', arch=dict(depths=[1, 1, 2, 1], dims=[16, 32, 64, 128]),
                                         out_indices=(1, 2, 3), gap_before_final_norm=False),
    'ODConvTemperatureHook': lambda data_root: dict(type='ODConvTemperatureHook', temp_epochs=10),
    'KWTemperatureHook': lambda data_root: dict(type='KWTemperatureHook', temp_epochs=20),
}
