# KW-ResNet-18 1x on ImageNet with the KernelWarehouse recipe (the ConvNeXt code base; mmpretrain's
# convnext-tiny_32xb128_in1k recipe is the same): 300 epochs, AdamW lr 4e-3 for batch 4096, eps 1e-8, wd 0.05,
# 20 warm-up epochs then cosine to 1e-6, RandAugment rand-m9-mstd0.5-inc1, Mixup 0.8, CutMix 1.0, label
# smoothing 0.1, random erasing 0.25, bicubic; drop_path 0.1; tau 1 -> 0 over the first 20 epochs, per iteration.
# Published (OSVAI/KernelWarehouse README): 11.93M params, 74.77 top-1.
_base_ = ['mmpretrain::convnext/convnext-tiny_32xb128_in1k.py']
default_scope = 'mmpretrain'
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)

model = dict(
    backbone=dict(_delete_=True, type='KWResNet', depth=18, cell_num_ratio=1, drop_path_rate=0.1,
                  out_indices=(3, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(in_channels=512),
    init_cfg=None)  # the backbone initialises its warehouses and attentions itself
optim_wrapper = dict(optimizer=dict(lr=4e-3, eps=1e-8, weight_decay=0.05))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, end=20, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=True, begin=20)
]
custom_hooks = [dict(type='KWTemperatureHook', temp_init=1.0, temp_final=0.0, temp_epochs=20)]
