# PS-ResNet-50 at half width (base_channels=32) + linear head from scratch on the Shapes crops (64 px, CPU).
# Same data, head, init and schedule as resnet50-c32_1xb32-8e_shapes-cls.py (the plain ResNet-50 baseline) and as
# the ODConv / KernelWarehouse Shapes runs: AdamW lr 1e-3, wd 0.05, 8 epochs (304 iterations), 1 warm-up epoch.
_base_ = [
    '../_base_/datasets/shapes_classification.py',
    'mmpretrain::_base_/default_runtime.py',
]
default_scope = 'mmpretrain'
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)

# PyTorch's default conv init for every conv (the PSConv group convs too): it trains the static ResNets on these
# crops far faster than kaiming fan-out (configs/odconv/README.md); both networks of the comparison use it
conv_init = [
    dict(type='Kaiming', layer='Conv2d', a=5**0.5, mode='fan_in', nonlinearity='leaky_relu',
         distribution='uniform'),
    dict(type='Constant', val=1, layer=['_BatchNorm'])
]
model = dict(
    type='ImageClassifier',
    backbone=dict(type='PSResNet', depth=50, base_channels=32, out_indices=(3, ), init_cfg=conv_init),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=5,
        in_channels=1024,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, )))

max_epochs = 8
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, by_epoch=True, begin=1, end=max_epochs)
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=4)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=32)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=4, max_keep_ckpts=2))
randomness = dict(seed=0)
