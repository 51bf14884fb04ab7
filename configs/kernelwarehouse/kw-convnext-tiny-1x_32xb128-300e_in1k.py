# KW-ConvNeXt-Tiny 1x on ImageNet: mmpretrain's convnext-tiny_32xb128_in1k recipe (the ConvNeXt paper's, which
# KernelWarehouse uses) with drop_path 0.3 and EMA; tau 1 -> 0 over the first 20 epochs.
# Published: 39.37M params, 82.51 top-1 (ConvNeXt-T: 28.59M, 82.07).
_base_ = ['mmpretrain::convnext/convnext-tiny_32xb128_in1k.py']
default_scope = 'mmpretrain'
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)

# KWConvNeXt takes mmpretrain ConvNeXt's arguments, so the base backbone is only retyped (no _delete_)
model = dict(backbone=dict(type='KWConvNeXt', cell_num_ratio=1, drop_path_rate=0.3), init_cfg=None)
optim_wrapper = dict(optimizer=dict(lr=4e-3, eps=1e-8, weight_decay=0.05))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, end=20, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=True, begin=20)
]
custom_hooks = [
    dict(type='EMAHook', momentum=1e-4, priority='ABOVE_NORMAL'),
    dict(type='KWTemperatureHook', temp_init=1.0, temp_final=0.0, temp_epochs=20)
]
