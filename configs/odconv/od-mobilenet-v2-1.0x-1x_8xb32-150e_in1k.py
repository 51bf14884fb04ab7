# OD-MobileNetV2 x1.0 1x on ImageNet with the ODConv paper's MobileNetV2 recipe: 150 epochs, SGD momentum 0.9,
# lr 0.05 for batch 256, wd 4e-5, cosine decay, RandomResizedCrop 224 + flip; temperature 30 -> 1 over the first
# 10 epochs. Published: 4.94M params, 74.74 top-1. (The released classifier has dropout 0.2 before the fc.)
_base_ = ['mmpretrain::mobilenet_v2/mobilenet-v2_8xb32_in1k.py']
default_scope = 'mmpretrain'
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)

max_epochs = 150
model = dict(
    backbone=dict(_delete_=True, type='ODMobileNetV2', widen_factor=1.0, kernel_num=1, out_indices=(7, )),
    head=dict(in_channels=1280))
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=4e-5))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=max_epochs, by_epoch=True, begin=0, end=max_epochs)]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
custom_hooks = [dict(type='ODConvTemperatureHook', temp_init=30.0, temp_final=1.0, temp_epochs=10)]
