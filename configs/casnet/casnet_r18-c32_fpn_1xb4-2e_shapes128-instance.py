# CASNet, joint mode (one backbone + FPN shared by the semantic and attribute branches), Shapes instance
# segmentation (5 thing classes + 1 background class), evaluated by mmdet's CocoMetric (bbox, segm).
_base_ = ['../_base_/datasets/shapes_instance.py', './_casnet_r18-c32_fpn_1xb4-2e_shapes128.py']
default_scope = 'mmdet'
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)

# Annotations are loaded before Resize so that masks follow the image on sets whose img_size is not 256 (the
# Shapes base configs load them after Resize, which is only right when Resize is the identity).
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=(128, 128), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='Resize', scale=(128, 128), keep_ratio=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(batch_size=4, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
