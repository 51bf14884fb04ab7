# FCOS with a KW-ResNet-18 1x backbone (half width) trained from scratch on Shapes (CPU-sized; the stock
# configs/quickstart/fcos_r18-c32_fpn_1xb8-12e_shapes.py with the backbone swapped). tau 1 -> 0 over 3 epochs.
_base_ = ['../quickstart/fcos_r18-c32_fpn_1xb8-12e_shapes.py']
model = dict(
    backbone=dict(
        _delete_=True,
        type='KWResNet',
        depth=18,
        cell_num_ratio=1,
        base_channels=32,
        out_indices=(1, 2, 3),
        frozen_stages=-1,
        norm_eval=False,
        init_cfg=None))
custom_hooks = [dict(type='KWTemperatureHook', temp_epochs=3)]
