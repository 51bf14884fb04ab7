# RON320 with the full VGG-16 (fc6 7x7/4096, fc7 1x1/4096) on VOC07+12 trainval, tested on VOC07 test.
# Paper: Kong et al., "RON: Reverse Connection with Objectness Prior Networks for Object Detection", CVPR 2017,
# arXiv:1707.01691. Reported: 74.2 mAP (VOC07 test, 07+12 train). Not reproduced here (no VOC, no GPU).
_base_ = [
    'mmdet::_base_/datasets/voc0712.py',
    'mmdet::_base_/default_runtime.py',
]
default_scope = 'mmdet'
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)

input_size = 320
mean_bgr = [102.98, 115.95, 122.77]
model = dict(
    type='SingleStageDetector',
    data_preprocessor=dict(
        type='DetDataPreprocessor', mean=mean_bgr, std=[1., 1., 1.], bgr_to_rgb=False, pad_size_divisor=64),
    backbone=dict(
        type='RONVGG',
        fc_type='full',
        frozen_stages=2,  # conv1_x and conv2_x have lr_mult 0 in the release
        # the authors start from VGG16_layers_fully_conv.caffemodel; a torchvision vgg16 converted with
        # tools/model_converters/vgg2ronvgg.py --fc-type full is the available substitute (RGB, std-normalised)
        init_cfg=dict(type='Pretrained', checkpoint='checkpoints/ronvgg16_full_from_torchvision.pth')),
    neck=dict(type='RONNeck', in_channels=(512, 512, 4096, 4096), out_channels=512, lateral_kernel_sizes=3),
    bbox_head=dict(
        type='RONHead',
        num_classes=20,
        in_channels=512,
        tower_channels=512,
        tower_kernel_size=3,
        cls_channels=512,
        num_cls_blocks=2,
        anchor_generator=dict(type='RONAnchorGenerator', strides=(8, 16, 32, 64), base_size=32),
        # plain deltas: the release defines BBOX_NORMALIZE_STDS (0.1, 0.1, 0.2, 0.2) but RON never reads it
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=(0., 0., 0., 0.), target_stds=(1., 1., 1., 1.)),
        loss_obj=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
        loss_bbox=dict(type='SmoothL1Loss', beta=1.0 / 9.0, loss_weight=1.0),
        loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
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
                  min_bbox_size=10, min_aspect_ratio=0.167, max_per_img=-1))

# RON's augmentations with mmdet transforms (see README: Expand fills with the mean, not shuffled pixels;
# MinIoURandomCrop has bounded retries and may keep the image, so it never hangs like the release's crop loop)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Expand', mean=mean_bgr, to_rgb=False, ratio_range=(1, 2), prob=0.5),
    dict(type='MinIoURandomCrop', min_ious=(0.1, 0.3, 0.5, 0.7, 0.9), min_crop_size=0.4),
    dict(type='RandomChoice', transforms=[[dict(type='Brightness', min_mag=0.5, max_mag=1.5)],
                                          [dict(type='Contrast', min_mag=0.5, max_mag=1.5)],
                                          [dict(type='Color', min_mag=0.5, max_mag=1.5)]]),
    # TRAIN.SCALES: 320 or 256, warped (chosen per image here, per batch in the release)
    dict(type='RandomChoiceResize', scales=[(input_size, input_size), (256, 256)], keep_ratio=False),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(input_size, input_size), keep_ratio=False),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
voc_train = [
    dict(type='VOCDataset', data_root='data/VOCdevkit/', ann_file=f'VOC{year}/ImageSets/Main/trainval.txt',
         data_prefix=dict(sub_data_root=f'VOC{year}/'), filter_cfg=dict(filter_empty_gt=True, min_size=1),
         pipeline=train_pipeline) for year in ('2007', '2012')
]
train_dataloader = dict(
    batch_size=20,
    num_workers=4,
    batch_sampler=None,
    dataset=dict(_delete_=True, type='ConcatDataset', ignore_keys=['dataset_type'], datasets=voc_train))
val_dataloader = dict(batch_size=8, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

# solver.prototxt: SGD lr 1e-3, momentum 0.9, wd 5e-4, x0.1 at 90k, 120k iterations, 20 images per batch
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=120000, val_interval=10000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=120000, milestones=[90000], gamma=0.1)
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=1e-3, momentum=0.9, weight_decay=5e-4),
    paramwise_cfg=dict(bias_lr_mult=2., bias_decay_mult=0.))
default_hooks = dict(checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=10000, max_keep_ckpts=3))
log_processor = dict(by_epoch=False)
auto_scale_lr = dict(enable=False, base_batch_size=20)
