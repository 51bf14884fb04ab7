# KW-MobileNetV2 x0.5 1/2x (arch='0.5x' + KWLinearClsHead with dropout 0.1) trained from scratch on the Shapes crops
# (CPU): the schedule of the other Shapes classification configs, SGD lr 0.05 with the MobileNetV2 wd 4e-5; tau
# 1 -> 0 over the first 2 of 8 epochs (the paper: the first 15 of 150), per iteration.
_base_ = [
    '../_base_/datasets/shapes_classification.py',
    'mmpretrain::_base_/default_runtime.py',
]
default_scope = 'mmpretrain'
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)

model = dict(
    type='ImageClassifier',
    backbone=dict(type='KWMobileNetV2', widen_factor=0.5, arch='0.5x', out_indices=(7, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='KWLinearClsHead',
        num_classes=5,
        in_channels=1280,
        dropout=0.1,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, )))

max_epochs = 8
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05))  # SGD 0.05 stays at chance here
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, by_epoch=True, begin=1, end=max_epochs)
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=4)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=32)
custom_hooks = [dict(type='KWTemperatureHook', temp_init=1.0, temp_epochs=2)]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=4, max_keep_ckpts=2))
