# Shapes detection comparison (issue 16): the FCOS quick-start detector (configs/quickstart/
# fcos_r18-c32_fpn_1xb8-12e_shapes.py: from scratch, AdamW 2e-3, batch 8, 100-iteration warm-up + cosine, FPN 64
# channels, GN head) with a half-width PS-ResNet-50 (base_channels=32; C3-C5 = 256/512/1024 channels), shortened for
# the shared 2-core CPU: the 256 px images resized to 128x128 (keep_ratio) and 6 epochs (300 iterations) instead of
# 12. LoadAnnotations comes before Resize, so the boxes are scaled with the image. Every Shapes detection
# comparison inherits this file and only swaps the backbone:
#   fcos_r50-c32_fpn_1xb8-6e_shapes-128.py (plain ResNet-50, same width);
#   ../hbonet/fcos_hbonet-1.0x_fpn_1xb8-6e_shapes-128.py vs ../hbonet/fcos_mobilenet-v2-1.0x_fpn_1xb8-6e_shapes-128.py
_base_ = ['../quickstart/fcos_r18-c32_fpn_1xb8-12e_shapes.py']
model = dict(
    backbone=dict(_delete_=True, type='PSResNet', depth=50, base_channels=32, out_indices=(1, 2, 3)),
    neck=dict(in_channels=[256, 512, 1024]))

img_scale = (128, 128)
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

max_epochs = 6
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min_ratio=0.05, by_epoch=True, begin=0, end=max_epochs,
         convert_to_iter_based=True)
]
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=max_epochs, max_keep_ckpts=1))
randomness = dict(seed=0)
