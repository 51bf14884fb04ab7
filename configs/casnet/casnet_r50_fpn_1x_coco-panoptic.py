# CASNet R-50-FPN, joint mode, COCO panoptic (80 things + 53 stuff) with mmdet's coco_panoptic data, CocoPanopticMetric
# and 1x schedule (SGD 0.02, 16 images per batch), as mmdet's panoptic-fpn_r50_fpn_1x_coco.py. Not trained here.
_base_ = [
    'mmdet::_base_/datasets/coco_panoptic.py',
    'mmdet::_base_/default_runtime.py',
    'mmdet::_base_/schedules/schedule_1x.py',
]
default_scope = 'mmdet'
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)

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
        type='CASSemanticHead', num_things_classes=80, num_stuff_classes=53, in_channels=256, inner_channels=128,
        start_level=0, end_level=4, norm_cfg=dict(type='GN', num_groups=32, requires_grad=True),
        loss_seg=dict(type='CrossEntropyLoss', ignore_index=255, loss_weight=1.0)),
    attribute_head=dict(
        type='CASAttributeHead', in_channels=256, feat_channels=128, fuse_levels=(0, 4), num_convs=2, stride=4,
        with_centre=True, distance_norm=64.0, instance_balanced=True,
        norm_cfg=dict(type='GN', num_groups=32, requires_grad=True)),
    test_cfg=dict(outputs=('panoptic', ), max_per_img=100, min_cells=4, stuff_area_limit=4096))
custom_hooks = []  # mmdet's NumClassCheckHook expects bbox/roi heads
