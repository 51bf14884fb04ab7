# COCO 2017 with one point per instance (data/coco/point_ann/ from tools/dataset_converters/coco_to_points.py),
# 10 % of the training images box-labelled (Group R-CNN's seeded split), the release's "DETR augmentation".
# train: box-labelled images, the point re-sampled inside each box every iteration; val: val2017 with its stored
# points (teacher AP); test: the point-only training images -> pseudo boxes at <pseudo_outfile_prefix>.bbox.json.
dataset_type = 'PointCocoDataset'
data_root = 'data/coco/'
backend_args = None
box_ratio = 0.1
split_seed = 0
train_filter_cfg = dict(filter_empty_gt=True, min_size=32)
pseudo_outfile_prefix = 'work_dirs/group_rcnn_coco/pseudo'
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
    val_dataloader,
    dataset=dict(val_dataloader['dataset'], ann_file='point_ann/instances_train2017.json',
                 data_prefix=dict(img='train2017/'), box_ratio=box_ratio, split_seed=split_seed, split='point',
                 filter_cfg=train_filter_cfg))
val_evaluator = dict(type='CocoMetric', ann_file=data_root + 'annotations/instances_val2017.json', metric='bbox',
                     backend_args=backend_args)
test_evaluator = dict(type='PseudoBoxCocoMetric', ann_file=data_root + 'annotations/instances_train2017.json',
                      outfile_prefix=pseudo_outfile_prefix, backend_args=backend_args)

