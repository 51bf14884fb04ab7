# CASNet R-50-FPN, joint mode, Cityscapes instance segmentation (8 thing classes + 1 background class).
# Data: mmdet's Cityscapes instance set (tools/dataset_converters/cityscapes.py -> COCO json), mmdet's pipeline
# (RandomResize 2048x[800,1024], flip; test 2048x1024), mmdet's Cityscapes Mask R-CNN schedule (8 epochs of an
# 8x RepeatDataset = 64 epochs, SGD 0.01, step at 7, 8 GPUs x 1 image). The paper's schedule is not known.
# Not trained here (no Cityscapes on this machine); built and parsed by the tests.
_base_ = [
    'mmdet::_base_/datasets/cityscapes_instance.py',
    'mmdet::_base_/default_runtime.py',
    'mmdet::_base_/schedules/schedule_1x.py',
]
default_scope = 'mmdet'
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)

num_things, num_stuff = 8, 1
model = dict(
    # box-aligned class logits off: untested at this scale (memory ~ cells x 9 x channels); see README
    box_logits=None,
    type='CASNet',
    mode='joint',
    data_preprocessor=dict(
        type='DetDataPreprocessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True,
        pad_size_divisor=32, pad_mask=True, mask_pad_value=0, pad_seg=True, seg_pad_value=255),
    backbone=dict(
        type='ResNet', depth=50, num_stages=4, out_indices=(0, 1, 2, 3), frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=True), norm_eval=True, style='pytorch',
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50')),
    neck=dict(type='FPN', in_channels=[256, 512, 1024, 2048], out_channels=256, num_outs=4),
    semantic_head=dict(
        type='CASSemanticHead', num_things_classes=num_things, num_stuff_classes=num_stuff, in_channels=256,
        inner_channels=128, start_level=0, end_level=4, norm_cfg=dict(type='GN', num_groups=32, requires_grad=True),
        loss_seg=dict(type='CrossEntropyLoss', ignore_index=255, loss_weight=1.0)),
    attribute_head=dict(
        type='CASAttributeHead', in_channels=256, feat_channels=128, fuse_levels=(0, 4), num_convs=2, stride=4,
        with_centre=True, distance_norm=64.0, instance_balanced=True,
        norm_cfg=dict(type='GN', num_groups=32, requires_grad=True),
        loss_box=dict(type='GIoULoss', loss_weight=1.0), loss_centre=dict(type='L1Loss', loss_weight=1.0),
        loss_quality=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)),
    test_cfg=dict(outputs=('instance', ), seed_thr=0.1, nms_pre=2000, seed_iou_thr=0.4, max_per_img=100,
                  assign_thr=0.2, refine_iters=2, centre_sigma=1.0, merge_thr=0.4, min_cells=4, thing_thr=0.4,
                  fill_holes=True, mask_from_semantic=True, grow_cells=1.0))

optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001),
                     clip_grad=dict(max_norm=35, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=8, by_epoch=True, milestones=[7], gamma=0.1)
]
train_cfg = dict(max_epochs=8)
auto_scale_lr = dict(enable=False, base_batch_size=8)
