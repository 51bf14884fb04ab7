# KW-ResNet-18 1x (half width: base_channels=32) + linear head trained from scratch on the Shapes crops (CPU).
# tau 1 -> 0 over the first 2 of 8 epochs (the paper: first 20 of 300), per iteration.
_base_ = ['../odconv/od-resnet18-4x-c32_1xb32-8e_shapes-cls.py']
model = dict(
    backbone=dict(_delete_=True, type='KWResNet', depth=18, cell_num_ratio=1, base_channels=32, out_indices=(3, )))
custom_hooks = [dict(type='KWTemperatureHook', temp_init=1.0, temp_epochs=2)]
