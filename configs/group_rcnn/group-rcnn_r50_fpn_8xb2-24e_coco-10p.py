# Group R-CNN teacher, COCO 2017 with 10 % box-labelled training images (seed 0), 24 epochs over those images, as
# the release's group_rcnn_24e_10_percent_coco_detr_augmentation.py: 8 GPUs x 2 images, SGD 0.02 / 0.9 / 1e-4,
# grad clip 35, linear warm-up 500 iterations from 0.001, steps at 16 and 22; "DETR augmentation" (flip, then
# either multi-scale resize 480-800 or resize 400/500/600 -> random crop 384-600 -> multi-scale resize).
# Points: data/coco/point_ann/instances_{train,val}2017.json from tools/dataset_converters/coco_to_points.py.
# val (during training): box AP of the generated boxes given the GT points of val2017 (the release's teacher AP);
# tools/test.py: pseudo boxes of the 90 % point-only training images -> work_dirs/<this config>/pseudo.bbox.json.
_base_ = [
    '../_base_/models/group-rcnn_r50_fpn.py',
    '../_base_/datasets/coco_point.py',
    'mmdet::_base_/default_runtime.py',
]
default_scope = 'mmdet'
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)

# tools/test.py writes the pseudo boxes of the point-only training images here
test_evaluator = dict(outfile_prefix='work_dirs/group-rcnn_r50_fpn_8xb2-24e_coco-10p/pseudo')

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
