# Af-DCD's Shapes teacher: DeepLabV3 (ASPP) on a dilated ResNetV1c-18 at half width (base 32, c4 = 256 channels,
# output stride 8), trained from scratch on Shapes semantic masks at 128x128 (the quick-start FCN recipe: AdamW
# 1e-3, poly) for 500 iterations (CPU-sized). Train it first; the students of this folder distil from its last
# checkpoint.
_base_ = ['../quickstart/fcn_r18-d8_1xb8-2k_shapes-seg.py']

crop_size = (128, 128)
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(base_channels=32, stem_channels=32),
    decode_head=dict(_delete_=True, type='ASPPHead', in_channels=256, in_index=3, channels=64,
                     dilations=(1, 6, 12, 18), dropout_ratio=0.1, num_classes=8, norm_cfg=norm_cfg,
                     align_corners=False,
                     loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=(128, 128), ratio_range=(0.75, 1.5), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.9),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(128, 128), keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
max_iters = 500
param_scheduler = [dict(type='PolyLR', eta_min=1e-5, power=0.9, begin=0, end=max_iters, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=max_iters, max_keep_ckpts=1))
randomness = dict(seed=0)
