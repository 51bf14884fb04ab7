# Shapes with one point per instance (stored by the generator), split into 10 % box-labelled and 90 % point-only
# training images (Group R-CNN's protocol, seeded): coco_point.py's loaders on the Shapes point set. A larger
# training set than the shared data/shapes (1000 images, so that 10 % is 100 box-labelled images), in its own
# folder. Annotations are loaded before any resize.
_base_ = './coco_point.py'
dataset_type = 'ShapesPointDataset'
data_root = 'data/shapes_point/'
shapes_cfg = dict(num_train=1000, num_val=100, img_size=256, seed=0, max_things=6, splits=['train', 'val'])
train_filter_cfg = dict(filter_empty_gt=True, min_size=4)
pseudo_outfile_prefix = 'work_dirs/group_rcnn_shapes/pseudo'

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='LoadPointAnnotations'),
    dict(type='PointRandomFlip', prob=0.5),
    dict(type='PointResize', scale=(256, 256), keep_ratio=True),
    dict(type='PackPointDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='LoadPointAnnotations'),
    dict(type='PointResize', scale=(256, 256), keep_ratio=True),
    dict(type='PackPointDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
shapes_train_set = dict(type=dataset_type, data_root=data_root, shapes_cfg=shapes_cfg,
                        ann_file='annotations/instances_train.json', data_prefix=dict(img='images/train/'))
train_dataloader = dict(batch_size=4,
                        dataset=dict(shapes_train_set, filter_cfg=train_filter_cfg, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    dataset=dict(shapes_train_set, ann_file='annotations/instances_val.json', data_prefix=dict(img='images/val/'),
                 pipeline=test_pipeline))
test_dataloader = dict(batch_size=8,
                       dataset=dict(shapes_train_set, filter_cfg=train_filter_cfg, pipeline=test_pipeline))
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = dict(ann_file=data_root + 'annotations/instances_train.json', outfile_prefix=pseudo_outfile_prefix)
