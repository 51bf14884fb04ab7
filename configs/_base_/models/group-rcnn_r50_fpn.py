# Group R-CNN (CVPR 2022, arXiv:2205.05920) as released (jshilong/GroupRCNN projects/configs/10_coco): ResNet-50
# (torchvision weights, frozen stem + stage 1, BN eval), FPN P3-P7 with extra convs on the input, a RetinaHead with
# the real class count (9 anchors, focal + L1, MaxIoU 0.5 / 0.4), grouping: 3 nearest locations per point and level,
# NMS 0.7, 50 proposals per point; detached features + one 3x3 projection conv; 3-stage GroupRoIHead (RoIAlign 7x7
# on P3-P6, instance-aware enhancement and parameter generation, instance-level assignment 0.5 / 0.6 / 0.7, loss
# weights 1 / 0.5 / 0.25, CE + SmoothL1, class-agnostic regression), test NMS 0.5, one box per point.
num_classes = 80
model = dict(
    type='GroupRCNN',
    pre_topk=3,
    rpn_iou=0.7,
    rpn_nms_topk=50,
    rpn_max_num=1000,
    num_projection_convs=1,
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_size_divisor=32),
    backbone=dict(
        type='ResNet',
        depth=50,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,
        style='pytorch',
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50')),
    neck=dict(type='FPN', in_channels=[256, 512, 1024, 2048], out_channels=256, start_level=1,
              add_extra_convs='on_input', num_outs=5),
    rpn_head=dict(
        type='RetinaHead',
        num_classes=num_classes,
        in_channels=256,
        stacked_convs=4,
        feat_channels=256,
        anchor_generator=dict(type='AnchorGenerator', octave_base_scale=4, scales_per_octave=3,
                              ratios=[0.5, 1.0, 2.0], strides=[8, 16, 32, 64, 128]),
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
                                out_channels=256, featmap_strides=[8, 16, 32, 64]),
        stage_target_stds=[[0.1, 0.1, 0.2, 0.2], [0.05, 0.05, 0.1, 0.1], [0.033, 0.033, 0.067, 0.067]],
        bbox_head=dict(type='Shared2FCBBoxHead', in_channels=256, fc_out_channels=1024, roi_feat_size=7,
                       num_classes=num_classes, reg_class_agnostic=True,
                       bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0., 0., 0., 0.]),
                       loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
                       loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0))),
    train_cfg=dict(
        rpn=dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.4, min_pos_iou=0,
                               ignore_iof_thr=-1),
                 sampler=dict(type='PseudoSampler'), allowed_border=-1, pos_weight=-1, debug=False),
        rcnn=None),
    # RetinaHead's own test settings (unused by the grouping, which has its own NMS)
    test_cfg=dict(
        rpn=dict(nms_pre=1000, min_bbox_size=0, score_thr=0.05, nms=dict(type='nms', iou_threshold=0.5),
                 max_per_img=100),
        rcnn=None))
