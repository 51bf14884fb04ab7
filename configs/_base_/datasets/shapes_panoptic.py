# Shapes, COCO panoptic format (5 thing + 3 stuff classes) for mmdet; loaders as in shapes_detection.py.
_base_ = './shapes_detection.py'
dataset_type = 'ShapesPanopticDataset'
data_root = 'data/shapes/'

# Annotations are loaded before Resize in training, so boxes/masks follow any scale override.
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadPanopticAnnotations'),
    dict(type='Resize', scale=(256, 256), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
# At test they are loaded after Resize (mmdet's convention): the metrics compare at the original size.
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(256, 256), keep_ratio=True),
    dict(type='LoadPanopticAnnotations'),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(
    batch_size=4,
    dataset=dict(
        type=dataset_type,
        ann_file='annotations/panoptic_train.json',
        data_prefix=dict(img='images/train/', seg='annotations/panoptic_train/'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4,
    dataset=dict(
        type=dataset_type,
        ann_file='annotations/panoptic_val.json',
        data_prefix=dict(img='images/val/', seg='annotations/panoptic_val/'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
# mmdet's CocoPanopticMetric needs panopticapi (tools/setup_env.sh installs it as panopticapi-lite)
val_evaluator = dict(
    _delete_=True,
    type='CocoPanopticMetric',
    ann_file=data_root + 'annotations/panoptic_val.json',
    seg_prefix=data_root + 'annotations/panoptic_val/')
test_evaluator = val_evaluator
