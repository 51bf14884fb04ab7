# OD-ResNet-18 (K=4, half width: base_channels=32) + linear head trained from scratch on the Shapes crops (CPU).
# 8 epochs (304 iterations). Temperature 30 -> 1 over the first 2 epochs (the paper: first 10 of 100), per
# iteration.
_base_ = [
    '../_base_/datasets/shapes_classification.py',
    'mmpretrain::_base_/default_runtime.py',
]
default_scope = 'mmpretrain'
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)

model = dict(
    type='ImageClassifier',
    backbone=dict(type='ODResNet', depth=18, kernel_num=4, base_channels=32, out_indices=(3, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=5,
        in_channels=256,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, )))

max_epochs = 8
# AdamW: with SGD lr 0.05 (tried first) these from-scratch runs stayed at chance (loss ~ln 5 after 6 epochs)
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, by_epoch=True, begin=1, end=max_epochs)
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=4)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=32)
custom_hooks = [dict(type='ODConvTemperatureHook', temp_init=30.0, temp_epochs=2)]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=4, max_keep_ckpts=2))
