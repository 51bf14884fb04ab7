# Baseline for the HyperNet Shapes comparison: mmdet's Faster R-CNN (RPNHead + StandardRoIHead) on the single
# conv5_3 level (stride 16) of the same 1/8-width VGG-16, with the same input, data, schedule, initial boxes /
# anchors (stride 16, 3 scales x 3 ratios), assigners, samplers, proposal numbers (300 train / 100 test, NMS 0.7)
# and RoI layer as hypernet_vgg16-w0125-bn_1xb4-2e_shapes.py. Head: 7x7 RoI features, FC 256 x 2 (Fast R-CNN's
# fc6/fc7 at the light width), mmdet's Faster R-CNN losses.
_base_ = './hypernet_vgg16-w0125-bn_1xb4-2e_shapes.py'

model = dict(
    _delete_=True,
    type='FasterRCNN',
    data_preprocessor={{_base_.model.data_preprocessor}},
    backbone=dict(type='RONVGG', fc_type=None, widen_factor=0.125, out_names=('conv5_3', ),
                  norm_cfg=dict(type='BN', requires_grad=True)),
    rpn_head=dict(
        type='RPNHead',
        in_channels=64,
        feat_channels=64,
        anchor_generator=dict(type='AnchorGenerator', strides=[16], ratios=[0.5, 1.0, 2.0], scales=[2, 4, 8]),
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[.0, .0, .0, .0], target_stds=[1.0, 1.0, 1.0, 1.0]),
        loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
        loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
    roi_head=dict(
        type='StandardRoIHead',
        bbox_roi_extractor=dict(
            type='RoIPoolExtractor',
            roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=1, pool_mode='avg', aligned=False),
            out_channels=64,
            featmap_strides=[16]),
        bbox_head=dict(
            type='Shared2FCBBoxHead',
            in_channels=64,
            fc_out_channels=256,
            roi_feat_size=7,
            num_classes={{_base_.num_classes}},
            bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0., 0., 0., 0.],
                            target_stds=[0.1, 0.1, 0.2, 0.2]),
            reg_class_agnostic=False,
            loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
            loss_bbox=dict(type='L1Loss', loss_weight=1.0))),
    train_cfg={{_base_.model.train_cfg}},
    test_cfg={{_base_.model.test_cfg}})
