# HyperNet on Shapes, a light variant for the 2-core CPU: VGG-16 at 1/8 width with BN (trained from scratch),
# the Hyper Feature (conv1_2 max-pooled x4, conv3_3, conv5_3 deconvolved x4; 16 channels per branch, LRN, 48 in
# all at stride 4), the RoI-based proposal module (13x13 RoI pooling, 3x3 conv 4, FC 256) on 2304 initial boxes
# (stride-16 grid, 3 scales x 3 ratios: about the paper's density of ~30k boxes on 1000x600) and the detection
# module (13x13 RoI pooling, 3x3 conv at 1/2 of the map's channels like the paper's 63 of 126, FC 256 x 2 with
# dropout). Joint training; see configs/hypernet/README.md.
# CPU choice: RoI features come from mmcv's RoIAlign with one sample per bin (the bin-centre value) instead of
# RoI max pooling, which on a CPU is 8x slower (torchvision's kernel; mmcv's RoIPool has no CPU kernel). The VOC
# and COCO configs use the paper's RoIPool (roi_layer below; RoIPoolExtractor runs it on CPU and GPU).
# The Faster R-CNN (C5, FPN) and HyperNet-SP Shapes configs inherit input, data and schedule from this file.
_base_ = [
    '../_base_/datasets/shapes_detection.py',
    'mmdet::_base_/default_runtime.py',
]
default_scope = 'mmdet'
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)

num_classes = 5
hyper_channels = 48
roi_layer = dict(type='RoIAlign', output_size=13, sampling_ratio=1, pool_mode='avg', aligned=False)
model = dict(
    type='HyperNet',
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[102.98, 115.95, 122.77],  # BGR means of the Caffe VGG-16
        std=[58.0, 57.0, 57.0],  # from scratch with BN: unit-variance inputs train faster
        bgr_to_rgb=False,
        pad_size_divisor=16),
    backbone=dict(type='RONVGG', fc_type=None, widen_factor=0.125, out_names=('conv1_2', 'conv3_3', 'conv5_3'),
                  norm_cfg=dict(type='BN', requires_grad=True)),
    neck=dict(type='HyperFeatureNeck', in_channels=(8, 32, 64), in_strides=(1, 4, 16), out_stride=4,
              branch_channels=16),
    rpn_head=dict(
        type='HyperNetRPNHead',
        in_channels=hyper_channels,
        featmap_stride=4,
        roi_size=13,
        conv_channels=4,
        fc_channels=256,
        conv_before_pool=False,
        roi_layer=roi_layer,
        anchor_generator=dict(type='AnchorGenerator', strides=[16], ratios=[0.5, 1.0, 2.0], scales=[2, 4, 8]),
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[.0, .0, .0, .0], target_stds=[1.0, 1.0, 1.0, 1.0]),
        loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
        loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0),
        chunk_size=2048),
    roi_head=dict(
        type='StandardRoIHead',
        bbox_roi_extractor=dict(type='RoIPoolExtractor', roi_layer=roi_layer,
                                out_channels=hyper_channels, featmap_strides=[4]),
        bbox_head=dict(
            type='HyperNetBBoxHead',
            in_channels=hyper_channels,
            roi_feat_size=13,
            num_shared_convs=1,
            conv_out_channels=24,
            num_shared_fcs=2,
            fc_out_channels=256,
            dropout_ratio=0.5,
            num_classes=num_classes,
            bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0., 0., 0., 0.],
                            target_stds=[0.1, 0.1, 0.2, 0.2]),
            reg_class_agnostic=False,
            loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
            loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0))),
    train_cfg=dict(
        rpn=dict(
            assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.7, neg_iou_thr=0.3, min_pos_iou=0.3,
                          match_low_quality=True, ignore_iof_thr=-1),
            sampler=dict(type='RandomSampler', num=256, pos_fraction=0.5, neg_pos_ub=-1, add_gt_as_proposals=False),
            allowed_border=0,
            pos_weight=-1,
            debug=False),
        rpn_proposal=dict(nms_pre=2000, max_per_img=300, nms=dict(type='nms', iou_threshold=0.7), min_bbox_size=0),
        rcnn=dict(
            assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.5, min_pos_iou=0.5,
                          match_low_quality=False, ignore_iof_thr=-1),
            sampler=dict(type='RandomSampler', num=64, pos_fraction=0.25, neg_pos_ub=-1, add_gt_as_proposals=True),
            pos_weight=-1,
            debug=False)),
    test_cfg=dict(
        rpn=dict(nms_pre=2000, max_per_img=100, nms=dict(type='nms', iou_threshold=0.7), min_bbox_size=0),
        rcnn=dict(score_thr=0.05, nms=dict(type='nms', iou_threshold=0.3), max_per_img=100)))

train_dataloader = dict(batch_size=4, num_workers=2, batch_sampler=None)
val_dataloader = dict(batch_size=4)
test_dataloader = val_dataloader

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
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=max_epochs, max_keep_ckpts=1))
