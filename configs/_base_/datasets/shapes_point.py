# Shapes with one point per instance (stored by the generator), split into 10 % box-labelled and 90 % point-only
# training images (Group R-CNN's protocol, seeded). Annotations are loaded before any resize. A larger training set
# than the shared data/shapes (1000 images, so that 10 % is 100 box-labelled images), in its own folder.
# train: the box-labelled images, the point re-sampled inside each box every iteration (as the release);
# val: every val image with its stored points (the teacher's "box AP given the GT points");
# test: the point-only training images -> pseudo boxes written to <work_dir>/pseudo.bbox.json.
dataset_type = 'ShapesPointDataset'
data_root = 'data/shapes_point/'
shapes_cfg = dict(num_train=1000, num_val=100, img_size=256, seed=0, max_things=6, splits=['train', 'val'])
backend_args = None
box_ratio = 0.1
split_seed = 0
# identical in every run that uses the split (teacher training, pseudo boxes, student)
train_filter_cfg = dict(filter_empty_gt=True, min_size=4)
pseudo_outfile_prefix = 'work_dirs/group_rcnn_shapes/pseudo'

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='LoadPointAnnotations'),
    dict(type='PointRandomFlip', prob=0.5),
    dict(type='PointResize', scale=(256, 256), keep_ratio=True),
    dict(type='PackPointDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='LoadPointAnnotations'),
    dict(type='PointResize', scale=(256, 256), keep_ratio=True),
    dict(type='PackPointDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(
    batch_size=4,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        shapes_cfg=shapes_cfg,
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img='images/train/'),
        box_ratio=box_ratio,
        split_seed=split_seed,
        split='box',
        filter_cfg=train_filter_cfg,
        pipeline=train_pipeline,
        backend_args=backend_args))
val_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        shapes_cfg=shapes_cfg,
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img='images/val/'),
        split='all',
        test_mode=True,
        pipeline=test_pipeline,
        backend_args=backend_args))
test_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        shapes_cfg=shapes_cfg,
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img='images/train/'),
        box_ratio=box_ratio,
        split_seed=split_seed,
        split='point',
        filter_cfg=train_filter_cfg,
        test_mode=True,
        pipeline=test_pipeline,
        backend_args=backend_args))
val_evaluator = dict(type='CocoMetric', ann_file=data_root + 'annotations/instances_val.json', metric='bbox',
                     backend_args=backend_args)
test_evaluator = dict(type='PseudoBoxCocoMetric', ann_file=data_root + 'annotations/instances_train.json',
                      outfile_prefix=pseudo_outfile_prefix, backend_args=backend_args)
