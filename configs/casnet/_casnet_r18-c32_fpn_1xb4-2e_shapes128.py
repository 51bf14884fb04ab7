# CASNet on Shapes (model + schedule, no dataset): ResNet-18 at half width (c32) + FPN (64 channels, stride 4-32),
# trained from scratch on the CPU: the 256 px Shapes images resized to 128 px, 2 epochs (200 iterations at
# batch 4), a schedule sized to a 2-core machine shared by 8 sessions. Joint mode; the task configs of this folder
# add the dataset. The backbone, FPN and schedule match the Mask R-CNN and PanopticFPN baselines of this folder.
_base_ = ['mmdet::_base_/default_runtime.py']
default_scope = 'mmdet'
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)

fpn_channels = 64
model = dict(
    type='CASNet',
    mode='joint',
    # box-aligned class logits (CASBoxLogits, README design choice 'box-aligned class logits'): on for Shapes
    box_logits=dict(grid=3, channels=32),
    # instance-level classifier (CASInstanceClassifier, README design choice 13): off, it was measured worse on
    # Shapes at 1800 iterations (mask AP 0.175 / PQ 44.8 against 0.190 / 52.7). The setting measured:
    # instance_classifier=dict(roi_size=7, channels=32, fc_channels=128, with_occupancy=True, with_mask_mean=True,
    #                          num_jitter=1, jitter=0.1, loss_weight=1.0, score='prob_thing_quality',
    #                          combine='product')
    instance_classifier=None,
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_size_divisor=32,
        pad_mask=True,
        mask_pad_value=0,
        pad_seg=True,
        seg_pad_value=255),
    backbone=dict(
        type='ResNet',
        depth=18,
        base_channels=32,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        style='pytorch',
        init_cfg=None),
    neck=dict(type='FPN', in_channels=[32, 64, 128, 256], out_channels=fpn_channels, num_outs=4),
    semantic_head=dict(
        type='CASSemanticHead',
        num_things_classes=5,
        num_stuff_classes=1,  # instance task: one background class
        in_channels=fpn_channels,
        inner_channels=64,
        start_level=0,
        end_level=4,
        # four 3x3 convs on the fused stride-4 map before the logits (README design choice 4): on Shapes at 1800
        # iterations mask AP 0.190-0.202 with none, 0.290-0.339 with two, 0.406 / 0.410 with four (oracle
        # diagnostics: the semantic branch is the limit)
        num_convs=4,
        norm_cfg=dict(type='GN', num_groups=16, requires_grad=True),
        loss_seg=dict(type='CrossEntropyLoss', ignore_index=255, loss_weight=1.0)),
    attribute_head=dict(
        type='CASAttributeHead',
        in_channels=fpn_channels,
        feat_channels=64,
        fuse_levels=(0, 4),
        num_convs=2,
        stride=4,
        with_centre=True,
        distance_norm=16.0,
        instance_balanced=True,
        norm_cfg=dict(type='GN', num_groups=16, requires_grad=True),
        loss_box=dict(type='GIoULoss', loss_weight=1.0),
        loss_centre=dict(type='L1Loss', loss_weight=1.0),
        loss_quality=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)),
    # post-process settings chosen on 100 train images with a 200-iteration model (README, "Why it did not learn")
    test_cfg=dict(
        outputs=('instance', ),
        seed_thr=0.1,
        nms_pre=1000,
        seed_iou_thr=0.4,
        max_per_img=100,
        assign_thr=0.2,
        refine_iters=2,
        centre_sigma=1.0,
        merge_thr=0.4,
        min_cells=2,
        thing_thr=0.4,
        fill_holes=True,
        mask_from_semantic=True,
        grow_cells=1.0))

max_epochs = 2
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
    clip_grad=dict(max_norm=10, norm_type=2))
auto_scale_lr = dict(enable=False, base_batch_size=4)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=1))
