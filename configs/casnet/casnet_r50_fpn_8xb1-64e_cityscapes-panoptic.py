# CASNet R-50-FPN, joint mode, Cityscapes panoptic segmentation (8 things + 11 stuff), evaluated by mmdet's
# CocoPanopticMetric (PQ / SQ / RQ). The panoptic ground truth is cityscapesscripts' COCO-panoptic conversion
# (see configs/casnet/README.md "Cityscapes"): data/cityscapes/gtFine/cityscapes_panoptic_{train,val}.json and the
# PNG folders gtFine/cityscapes_panoptic_{train,val}/, read by mmdet's CocoPanopticDataset with the 19-class
# METAINFO below (things first, mmdet's panoptic convention). Model and schedule as the instance config.
_base_ = ['./casnet_r50_fpn_8xb1-64e_cityscapes-instance.py']

data_root = 'data/cityscapes/'
dataset_type = 'CocoPanopticDataset'
thing_classes = ('person', 'rider', 'car', 'truck', 'bus', 'train', 'motorcycle', 'bicycle')
stuff_classes = ('road', 'sidewalk', 'building', 'wall', 'fence', 'pole', 'traffic light', 'traffic sign',
                 'vegetation', 'terrain', 'sky')
metainfo = dict(classes=thing_classes + stuff_classes, thing_classes=thing_classes, stuff_classes=stuff_classes)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadPanopticAnnotations'),
    dict(type='RandomResize', scale=[(2048, 800), (2048, 1024)], keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(2048, 1024), keep_ratio=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(dataset=dict(dataset=dict(
    _delete_=True, type=dataset_type, data_root=data_root, metainfo=metainfo,
    ann_file='gtFine/cityscapes_panoptic_train.json',
    data_prefix=dict(img='leftImg8bit/train/', seg='gtFine/cityscapes_panoptic_train/'),
    filter_cfg=dict(filter_empty_gt=False), pipeline=train_pipeline)))
val_dataloader = dict(dataset=dict(
    _delete_=True, type=dataset_type, data_root=data_root, metainfo=metainfo, test_mode=True,
    ann_file='gtFine/cityscapes_panoptic_val.json',
    data_prefix=dict(img='leftImg8bit/val/', seg='gtFine/cityscapes_panoptic_val/'), pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(
    _delete_=True, type='CocoPanopticMetric', ann_file=data_root + 'gtFine/cityscapes_panoptic_val.json',
    seg_prefix=data_root + 'gtFine/cityscapes_panoptic_val/')
test_evaluator = val_evaluator
model = dict(semantic_head=dict(num_stuff_classes=11),
             test_cfg=dict(outputs=('panoptic', ), stuff_area_limit=2048))
