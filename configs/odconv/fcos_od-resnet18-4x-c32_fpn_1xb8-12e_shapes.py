# FCOS with an OD-ResNet-18 4x backbone (half width) trained from scratch on Shapes (CPU-sized; the stock
# configs/quickstart/fcos_r18-c32_fpn_1xb8-12e_shapes.py with the backbone swapped). T 30 -> 1 over 3 epochs.
_base_ = ['../quickstart/fcos_r18-c32_fpn_1xb8-12e_shapes.py']
model = dict(
    backbone=dict(
        _delete_=True,
        type='ODResNet',
        depth=18,
        kernel_num=4,
        base_channels=32,
        out_indices=(1, 2, 3),
        frozen_stages=-1,
        norm_eval=False,
        init_cfg=None))
custom_hooks = [dict(type='ODConvTemperatureHook', temp_epochs=3)]
