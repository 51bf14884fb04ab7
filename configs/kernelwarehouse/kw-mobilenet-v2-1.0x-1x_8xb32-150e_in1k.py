# KW-MobileNetV2 x1.0 1x on ImageNet (released JSON): 150 epochs, SGD lr 0.05 for batch 256, wd 4e-5, cosine,
# no warm-up, plain RandomResizedCrop + flip ("traditional_preprocess"), no Mixup/CutMix/erasing; tau 1 -> 0
# over the first 15 epochs; sharing_range ('layer', 'pwconv'). Published: 5.17M params, 74.68 top-1.
# Note: this JSON does not set "smoothing": 0, so the released run used label smoothing 0.1 (kept here).
_base_ = ['mmpretrain::mobilenet_v2/mobilenet-v2_8xb32_in1k.py']
default_scope = 'mmpretrain'
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)

max_epochs = 150
model = dict(
    backbone=dict(_delete_=True, type='KWMobileNetV2', widen_factor=1.0, cell_num_ratio=1,
                  sharing_range=('layer', 'pwconv'), out_indices=(7, )),
    head=dict(in_channels=1280, loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original')))
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=4e-5))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=max_epochs, by_epoch=True, begin=0, end=max_epochs)]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
custom_hooks = [dict(type='KWTemperatureHook', temp_init=1.0, temp_final=0.0, temp_epochs=15)]
