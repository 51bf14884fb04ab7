# CASNet, joint mode, Shapes panoptic segmentation (5 thing + 3 stuff classes): the instance network with the stuff
# classes in the semantic branch. Evaluated by mmdet's CocoPanopticMetric (PQ) and, on the same predictions, by
# CocoMetric (mask AP on instances_val.json, whose image ids are those of panoptic_val.json).
_base_ = ['../_base_/datasets/shapes_panoptic.py', './_casnet_r18-c32_fpn_1xb4-2e_shapes128.py']
default_scope = 'mmdet'
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)

data_root = 'data/shapes/'
model = dict(semantic_head=dict(num_stuff_classes=3), test_cfg=dict(outputs=('instance', 'panoptic'),
                                                                  stuff_area_limit=64))
# Annotations before Resize (see the instance config); the metrics read the ground truth from the files.
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadPanopticAnnotations'),
    dict(type='Resize', scale=(128, 128), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(128, 128), keep_ratio=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(batch_size=4, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = [
    dict(type='CocoPanopticMetric', ann_file=data_root + 'annotations/panoptic_val.json',
         seg_prefix=data_root + 'annotations/panoptic_val/'),
    dict(type='CocoMetric', ann_file=data_root + 'annotations/instances_val.json', metric=['bbox', 'segm']),
]
test_evaluator = val_evaluator
