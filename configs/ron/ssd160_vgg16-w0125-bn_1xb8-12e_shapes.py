# The SSD baseline of the RON Shapes comparison: mmdet's SSD (SSDNeck with L2Norm and an extra stride-64 level,
# SSDHead: one 3x3 conv per level, MaxIoU 0.5 matching, 3:1 hard negative mining, SmoothL1) on the same light
# VGG-16 (RONVGG, 1/8 width, BN), input, pipeline, optimiser and schedule as ron160_vgg16-w0125-bn_1xb8-12e_shapes.py.
# Levels: conv4_3 / conv5_3 / fc7 / extra at strides 8 / 16 / 32 / 64, the strides of RON's pyramid.
_base_ = './ron160_vgg16-w0125-bn_1xb8-12e_shapes.py'

model = dict(
    backbone=dict(out_indices=(0, 1, 3)),
    neck=dict(
        _delete_=True,
        type='SSDNeck',
        in_channels=(64, 64, 128),
        out_channels=(64, 64, 128, 64),
        level_strides=(2, ),
        level_paddings=(1, ),
        l2_norm_scale=20),
    bbox_head=dict(
        _delete_=True,
        type='SSDHeadCompat',  # mmdet's SSDHead; its predict() is broken in mmdet 3.3 (see mmext/det/ssd_head_compat.py)
        num_classes=5,
        in_channels=(64, 64, 128, 64),
        anchor_generator=dict(
            type='SSDAnchorGenerator',
            scale_major=False,
            input_size=160,
            # mmdet only derives sizes for 300/512 inputs; Shapes objects are ~12-70 px at 160
            min_sizes=[12, 24, 48, 96],
            max_sizes=[24, 48, 96, 160],
            strides=[8, 16, 32, 64],
            ratios=[[2], [2, 3], [2, 3], [2]]),
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[.0, .0, .0, .0], target_stds=[0.1, 0.1, 0.2, 0.2])),
    train_cfg=dict(
        _delete_=True,
        assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.5, min_pos_iou=0., ignore_iof_thr=-1,
                      gt_max_assign_all=False),
        sampler=dict(type='PseudoSampler'),
        smoothl1_beta=1.,
        allowed_border=-1,
        pos_weight=-1,
        neg_pos_ratio=3,
        debug=False),
    test_cfg=dict(
        _delete_=True, nms_pre=1000, nms=dict(type='nms', iou_threshold=0.45), min_bbox_size=0, score_thr=0.02,
        max_per_img=100))
