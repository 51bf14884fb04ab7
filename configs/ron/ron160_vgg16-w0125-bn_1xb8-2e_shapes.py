# RON on Shapes, a light variant for the 2-core CPU: VGG-16 at 1/8 width with BN (trained from scratch), the
# reverse-connection pyramid and heads at 1/8 width (64 / 32 channels), 160x160 warped input, anchors on base 16.
# Architecture, assignment, sampling, gating, losses and decoding are RON's (see configs/ron/README.md).
_base_ = [
    '../_base_/datasets/shapes_detection.py',
    'mmdet::_base_/default_runtime.py',
]
default_scope = 'mmdet'
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)

input_size = 160
model = dict(
    type='SingleStageDetector',
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[102.98, 115.95, 122.77],  # RON's BGR mean (RON itself divides by no std)
        std=[58.0, 57.0, 57.0],  # from scratch with BN: unit-variance inputs train faster
        bgr_to_rgb=False,
        pad_size_divisor=64),
    backbone=dict(type='RONVGG', fc_type='reduced', widen_factor=0.125, norm_cfg=dict(type='BN', requires_grad=True)),
    neck=dict(type='RONNeck', in_channels=(64, 64, 128, 128), out_channels=64),
    bbox_head=dict(
        type='RONHead',
        num_classes=5,
        in_channels=64,
        tower_channels=32,
        cls_channels=32,
        anchor_generator=dict(type='RONAnchorGenerator', strides=(8, 16, 32, 64), base_size=16)),
    train_cfg=dict(
        obj_assigner=dict(type='RONAssigner', pos_iou_thr=0.5, neg_iou_thr=(0.001, 0.3), min_pos_iou=0.1,
                          best_anchor_gt='max_iou'),
        cls_assigner=dict(type='RONAssigner', pos_iou_thr=0.6, neg_iou_thr=0.3, min_pos_iou=0.3,
                          best_anchor_gt='own'),
        allowed_border=(4, 8, 16, 32),
        num_samples=(512, 512, 256, 256),  # negatives per level for a batch without positives
        neg_pos_ratio=3,  # FG_FRACTION 0.25, pooled over the batch; positives are never capped
        obj_prior_thr=0.03),
    test_cfg=dict(obj_thr=0.03, score_thr=0.01, nms=dict(type='nms', iou_threshold=0.4), max_per_class=80,
                  min_bbox_size=4, min_aspect_ratio=0.167, max_per_img=100, nms_pre=1000))

# RON's full augmentation (expand + bounded random crop + one photometric op + warp resize + flip) is in
# ron_train_pipeline and in the VOC / COCO configs. This short CPU schedule trains with the photometric op, the warp
# resize and the flip only: expand and crop slow convergence down too much for 2 epochs from scratch.
ron_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Expand', mean=[102.98, 115.95, 122.77], to_rgb=False, ratio_range=(1, 2), prob=0.5),
    dict(type='MinIoURandomCrop', min_ious=(0.1, 0.3, 0.5, 0.7, 0.9), min_crop_size=0.4),
    dict(type='RandomChoice', transforms=[[dict(type='Brightness', min_mag=0.5, max_mag=1.5)],
                                          [dict(type='Contrast', min_mag=0.5, max_mag=1.5)],
                                          [dict(type='Color', min_mag=0.5, max_mag=1.5)]]),
    dict(type='Resize', scale=(input_size, input_size), keep_ratio=False),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
train_pipeline = [t for t in ron_train_pipeline if t['type'] not in ('Expand', 'MinIoURandomCrop')]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(input_size, input_size), keep_ratio=False),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(batch_sampler=None, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

max_epochs = 2
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=20),
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min_ratio=0.05, by_epoch=True, begin=0, end=max_epochs,
         convert_to_iter_based=True)
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-3, weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0., bias_decay_mult=0.),
    clip_grad=dict(max_norm=10, norm_type=2))
auto_scale_lr = dict(enable=False, base_batch_size=8)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2))
# seed control: the same seed gives the same weights init, data order, augmentation and target sampling, so a run is
# reproducible (``--cfg-options randomness.seed=N`` for another draw); the Shapes set itself is generated with seed 0
randomness = dict(seed=0, deterministic=False)
