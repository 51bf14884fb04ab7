# Group R-CNN teacher on Shapes, 10 % box-labelled (40 of 400 training images; an epoch = those images), CPU
# variant: ResNet-18 at half width from scratch, FPN 64 channels on strides 8/16/32, RoI head at 64 channels.
# Release structure otherwise: RetinaHead proposals (9 anchors/location, focal + L1), 3 nearest locations per point
# and level, NMS 0.7, 50 proposals per point, detached features + 1 projection conv, 3-stage cascade with
# instance-aware enhancement / dynamic 1x1 conv, instance-level assignment 0.5/0.6/0.7, loss weights 1/0.5/0.25.
# val = teacher box AP given the GT points; tools/test.py = pseudo boxes of the point-only images.
_base_ = [
    '../_base_/datasets/shapes_point.py',
    'mmdet::_base_/default_runtime.py',
]
default_scope = 'mmdet'
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)

num_classes = 5
channels = 64
model = dict(
    type='GroupRCNN',
    pre_topk=3,
    rpn_iou=0.7,
    rpn_nms_topk=50,
    num_projection_convs=1,
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_size_divisor=32),
    backbone=dict(
        type='ResNet',
        depth=18,
        base_channels=32,
        num_stages=4,
        out_indices=(1, 2, 3),
        frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        style='pytorch',
        init_cfg=None),
    neck=dict(type='FPN', in_channels=[64, 128, 256], out_channels=channels, start_level=0,
              add_extra_convs='on_input', num_outs=3),
    rpn_head=dict(
        type='RetinaHead',
        num_classes=num_classes,
        in_channels=channels,
        stacked_convs=2,
        feat_channels=channels,
        anchor_generator=dict(type='AnchorGenerator', octave_base_scale=4, scales_per_octave=3,
                              ratios=[0.5, 1.0, 2.0], strides=[8, 16, 32]),
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[.0, .0, .0, .0], target_stds=[1.0, 1.0, 1.0, 1.0]),
        loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
        loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
    roi_head=dict(
        type='GroupRoIHead',
        num_classes=num_classes,
        num_stages=3,
        stage_loss_weights=[1, 0.5, 0.25],
        pos_iou_thrs=[0.5, 0.6, 0.7],
        nms_iou_threshold=0.5,
        norm_groups=32,
        bbox_roi_extractor=dict(type='SingleRoIExtractor',
                                roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=0),
                                out_channels=channels, featmap_strides=[8, 16, 32]),
        bbox_head=[
            dict(type='Shared2FCBBoxHead', in_channels=channels, fc_out_channels=256, roi_feat_size=7,
                 num_classes=num_classes, reg_class_agnostic=True,
                 bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0., 0., 0., 0.], target_stds=stds),
                 loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
                 loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0))
            for stds in ([0.1, 0.1, 0.2, 0.2], [0.05, 0.05, 0.1, 0.1], [0.033, 0.033, 0.067, 0.067])
        ]),
    train_cfg=dict(
        rpn=dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.4, min_pos_iou=0,
                               ignore_iof_thr=-1),
                 sampler=dict(type='PseudoSampler'), allowed_border=-1, pos_weight=-1, debug=False),
        rcnn=None),
    test_cfg=dict(
        rpn=dict(nms_pre=1000, min_bbox_size=0, score_thr=0.05, nms=dict(type='nms', iou_threshold=0.5),
                 max_per_img=100),
        rcnn=None))

max_epochs = 36
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
