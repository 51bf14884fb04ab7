# Group R-CNN teacher, COCO 2017 with 10 % box-labelled training images (seed 0), 24 epochs over those images, as
# the release's group_rcnn_24e_10_percent_coco_detr_augmentation.py: 8 GPUs x 2 images, SGD 0.02 / 0.9 / 1e-4,
# grad clip 35, linear warm-up 500 iterations from 0.001, steps at 16 and 22; "DETR augmentation" (flip, then
# either multi-scale resize 480-800 or resize 400/500/600 -> random crop 384-600 -> multi-scale resize).
# Points: data/coco/point_ann/instances_{train,val}2017.json from tools/dataset_converters/coco_to_points.py.
# val (during training): box AP of the generated boxes given the GT points of val2017 (the release's teacher AP);
# tools/test.py: pseudo boxes of the 90 % point-only training images -> work_dirs/<this config>/pseudo.bbox.json.
_base_ = [
    '../_base_/models/group-rcnn_r50_fpn.py',
    'mmdet::_base_/default_runtime.py',
]
default_scope = 'mmdet'
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)

dataset_type = 'PointCocoDataset'
data_root = 'data/coco/'
backend_args = None
box_ratio = 0.1
split_seed = 0
train_filter_cfg = dict(filter_empty_gt=True, min_size=32)
pseudo_outfile_prefix = 'work_dirs/group-rcnn_r50_fpn_8xb2-24e_coco-10p/pseudo'
scales = [(1333, 480), (1333, 512), (1333, 544), (1333, 576), (1333, 608), (1333, 640), (1333, 672),
          (1333, 704), (1333, 736), (1333, 768), (1333, 800)]

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='LoadPointAnnotations'),
    dict(type='PointRandomFlip', prob=0.5),
    dict(type='RandomChoice',
         transforms=[
             [dict(type='RandomChoiceResize', scales=scales, keep_ratio=True, resize_type='PointResize')],
             [
                 dict(type='RandomChoiceResize', scales=[(1333, 400), (1333, 500), (1333, 600)], keep_ratio=True,
                      resize_type='PointResize'),
                 dict(type='PointRandomCrop', crop_type='absolute_range', crop_size=(384, 600),
                      allow_negative_crop=False),
                 dict(type='RandomChoiceResize', scales=scales, keep_ratio=True, resize_type='PointResize'),
             ],
         ]),
    dict(type='PackPointDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='LoadPointAnnotations'),
    dict(type='PointResize', scale=(1333, 800), keep_ratio=True),
    dict(type='PackPointDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(
    batch_size=2,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='point_ann/instances_train2017.json',
        data_prefix=dict(img='train2017/'),
        box_ratio=box_ratio,
        split_seed=split_seed,
        split='box',
        filter_cfg=train_filter_cfg,
        pipeline=train_pipeline,
        backend_args=backend_args))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='point_ann/instances_val2017.json',
        data_prefix=dict(img='val2017/'),
        split='all',
        test_mode=True,
        pipeline=test_pipeline,
        backend_args=backend_args))
test_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='point_ann/instances_train2017.json',
        data_prefix=dict(img='train2017/'),
        box_ratio=box_ratio,
        split_seed=split_seed,
        split='point',
        filter_cfg=train_filter_cfg,
        test_mode=True,
        pipeline=test_pipeline,
        backend_args=backend_args))
val_evaluator = dict(type='CocoMetric', ann_file=data_root + 'annotations/instances_val2017.json', metric='bbox',
                     backend_args=backend_args)
test_evaluator = dict(type='PseudoBoxCocoMetric', ann_file=data_root + 'annotations/instances_train2017.json',
                      outfile_prefix=pseudo_outfile_prefix, backend_args=backend_args)

max_epochs = 24
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=12)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[16, 22], gamma=0.1)
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=0.0001),
    clip_grad=dict(max_norm=35, norm_type=2))
auto_scale_lr = dict(enable=False, base_batch_size=16)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=max_epochs))
