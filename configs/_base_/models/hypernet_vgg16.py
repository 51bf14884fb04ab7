# HyperNet (VGG-16) model: Kong, Yao, Chen, Sun, "HyperNet: Towards Accurate Region Proposal Generation and Joint
# Object Detection", CVPR 2016, arXiv:1604.00600. The paper's numbers: Hyper Feature from conv1/3/5 (42 channels
# each -> 126, stride 4), ~30k initial boxes, 13x13 RoI pooling, proposal module 3x3 conv (4) + FC 256, NMS 0.7,
# 100 proposals at test; detection module 3x3 conv (63) + FC 4096 x 2 with dropout; CE + lambda * SmoothL1,
# lambda = 1. Where the paper is silent (anchors, IoU thresholds, sampling) the values are Faster R-CNN's.
model = dict(
    type='HyperNet',
    data_preprocessor=dict(
        # torchvision's vgg16 (RGB, mean/std normalised), converted with
        # tools/model_converters/vgg2ronvgg.py vgg16-397923af.pth \
        #     checkpoints/vgg16_conv_from_torchvision.pth --fc-type none
        type='DetDataPreprocessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True,
        pad_size_divisor=16),
    backbone=dict(type='RONVGG', fc_type=None, out_names=('conv1_2', 'conv3_3', 'conv5_3'),
                  init_cfg=dict(type='Pretrained', checkpoint='checkpoints/vgg16_conv_from_torchvision.pth')),
    neck=dict(type='HyperFeatureNeck', in_channels=(64, 256, 512), in_strides=(1, 4, 16), out_stride=4,
              branch_channels=42),
    rpn_head=dict(
        type='HyperNetRPNHead',
        in_channels=126,
        featmap_stride=4,
        roi_size=13,
        conv_channels=4,
        fc_channels=256,
        conv_before_pool=False,
        roi_layer=dict(type='RoIPool', output_size=13),
        # 15 box shapes on a stride-16 grid: 38 x 63 x 15 = 35,910 initial boxes on a 1000x600 image
        anchor_generator=dict(type='AnchorGenerator', strides=[16], ratios=[0.5, 1.0, 2.0], scales=[2, 4, 8, 16, 32]),
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[.0, .0, .0, .0], target_stds=[1.0, 1.0, 1.0, 1.0]),
        loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
        loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0),
        chunk_size=2048),
    roi_head=dict(
        type='StandardRoIHead',
        bbox_roi_extractor=dict(type='RoIPoolExtractor', roi_layer=dict(type='RoIPool', output_size=13),
                                out_channels=126, featmap_strides=[4]),
        bbox_head=dict(
            type='HyperNetBBoxHead',
            in_channels=126,
            roi_feat_size=13,
            num_shared_convs=1,
            conv_out_channels=63,
            num_shared_fcs=2,
            fc_out_channels=4096,
            dropout_ratio=0.5,
            num_classes=20,
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
        rpn_proposal=dict(nms_pre=6000, max_per_img=300, nms=dict(type='nms', iou_threshold=0.7), min_bbox_size=0),
        rcnn=dict(
            assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.5, min_pos_iou=0.5,
                          match_low_quality=False, ignore_iof_thr=-1),
            sampler=dict(type='RandomSampler', num=64, pos_fraction=0.25, neg_pos_ub=-1, add_gt_as_proposals=True),
            pos_weight=-1,
            debug=False)),
    test_cfg=dict(
        rpn=dict(nms_pre=6000, max_per_img=100, nms=dict(type='nms', iou_threshold=0.7), min_bbox_size=0),
        rcnn=dict(score_thr=0.05, nms=dict(type='nms', iou_threshold=0.3), max_per_img=100)))
