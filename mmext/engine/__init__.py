"""mmengine hooks (temperature and loss-weight schedules, distill-module gradient clipping), registered into every
scope."""
from .distill_loss_weight_hook import DistillLossWeightHook
from .dynamic_conv_temperature_hooks import DynamicConvTemperatureHook, KWTemperatureHook, ODConvTemperatureHook
from .module_grad_clip_hook import ModuleGradClipHook
from .show_dir_visualization_hook import ShowDirVisualizationHook

__all__ = ['DistillLossWeightHook', 'DynamicConvTemperatureHook', 'KWTemperatureHook', 'ModuleGradClipHook',
           'ODConvTemperatureHook', 'ShowDirVisualizationHook']
