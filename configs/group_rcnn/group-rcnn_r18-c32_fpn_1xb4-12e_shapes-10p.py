# Group R-CNN teacher on Shapes, 10 % box-labelled (100 of 1000 training images; an epoch = those images), CPU
# variant: ResNet-18 at half width from scratch, FPN 64 channels on strides 8/16/32, RoI head at 64 channels (fc 256),
# 20 proposals per point instead of 50 (2-core CPU time), AdamW + cosine instead of SGD steps (from scratch).
# Release structure otherwise: RetinaHead proposals (9 anchors/location, focal + L1), 3 nearest locations per point
# and level, NMS 0.7, detached features + 1 projection conv, 3-stage cascade with
# instance-aware enhancement / dynamic 1x1 conv, instance-level assignment 0.5/0.6/0.7, loss weights 1/0.5/0.25.
# val = teacher box AP given the GT points; tools/test.py = pseudo boxes of the point-only images.
_base_ = [
    '../_base_/models/group-rcnn_r50_fpn.py',
    '../_base_/datasets/shapes_point.py',
    'mmdet::_base_/default_runtime.py',
]
default_scope = 'mmdet'
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)

num_classes = 5
channels = 64
model = dict(
    rpn_nms_topk=20,
    backbone=dict(depth=18, base_channels=32, out_indices=(1, 2, 3), frozen_stages=-1, norm_eval=False,
                  init_cfg=None),
    neck=dict(in_channels=[64, 128, 256], out_channels=channels, start_level=0, num_outs=3),
    rpn_head=dict(num_classes=num_classes, in_channels=channels, stacked_convs=2, feat_channels=channels,
                  anchor_generator=dict(strides=[8, 16, 32])),
    roi_head=dict(
        num_classes=num_classes,
        bbox_roi_extractor=dict(out_channels=channels, featmap_strides=[8, 16, 32]),
        bbox_head=dict(in_channels=channels, fc_out_channels=256, num_classes=num_classes)))

max_epochs = 12
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min_ratio=0.05, by_epoch=True, begin=0, end=max_epochs,
         convert_to_iter_based=True)
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-3, weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0., bias_decay_mult=0.),
    clip_grad=dict(max_norm=35, norm_type=2))
auto_scale_lr = dict(enable=False, base_batch_size=4)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=max_epochs, max_keep_ckpts=1))
# tools/test.py writes the pseudo boxes of the 900 point-only training images here
test_evaluator = dict(outfile_prefix='work_dirs/group-rcnn_r18-c32_fpn_1xb4-12e_shapes-10p/pseudo')
