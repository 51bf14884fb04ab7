# Student detector of the Group R-CNN Shapes experiment, upper bound: the quick-start FCOS (ResNet-18 at half width,
# FPN 64, from scratch) trained on all 1000 training images of the Shapes point set with their GT boxes. The three
# students (100 % GT, 10 % GT, 10 % GT + 90 % pseudo boxes) share everything but the training annotations and run
# the same number of iterations (400 x 8 images), so that only the labels differ.
_base_ = ['../quickstart/fcos_r18-c32_fpn_1xb8-12e_shapes.py']

data_root = 'data/shapes_point/'
shapes_cfg = dict(num_train=1000, num_val=100, img_size=256, seed=0, max_things=6, splits=['train', 'val'])
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='Resize', scale=(256, 256), keep_ratio=True),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(256, 256), keep_ratio=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='ShapesPointDataset',
        data_root=data_root,
        shapes_cfg=shapes_cfg,
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img='images/train/'),
        box_ratio=0.1,
        split_seed=0,
        split='all',
        with_point=False,
        filter_cfg=dict(filter_empty_gt=True, min_size=4),
        pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(data_root=data_root, shapes_cfg=shapes_cfg, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator

max_iters = 400
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', T_max=max_iters, eta_min_ratio=0.05, by_epoch=False, begin=0, end=max_iters)
]
default_hooks = dict(logger=dict(type='LoggerHook', interval=20),
                     checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=max_iters, max_keep_ckpts=1))
log_processor = dict(by_epoch=False)
