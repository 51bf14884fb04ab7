"""mmengine hooks (temperature and loss-weight schedules), registered into every scope."""
from .distill_loss_weight_hook import DistillLossWeightHook
from .dynamic_conv_temperature_hooks import DynamicConvTemperatureHook, KWTemperatureHook, ODConvTemperatureHook
from .show_dir_visualization_hook import ShowDirVisualizationHook

__all__ = ['DistillLossWeightHook', 'DynamicConvTemperatureHook', 'KWTemperatureHook', 'ODConvTemperatureHook',
           'ShowDirVisualizationHook']
