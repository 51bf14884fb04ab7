# RON320 (full VGG-16) on COCO 2017 train, evaluated on val. Reported (trainval35k, test-dev): 23.6 AP; RON384 25.4.
# The release has no COCO solver; this keeps the VOC recipe (SGD 1e-3, x0.1 at 3/4) over 400k iterations —
# our choice, not the authors'.
_base_ = ['./ron320_vgg16_1xb20-120k_voc0712.py']

dataset_type = 'CocoDataset'
data_root = 'data/coco/'
model = dict(bbox_head=dict(num_classes=80))
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/instances_train2017.json',
        data_prefix=dict(img='train2017/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=1),
        pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/instances_val2017.json',
        data_prefix=dict(img='val2017/'),
        test_mode=True,
        pipeline={{_base_.test_pipeline}}))
test_dataloader = val_dataloader
val_evaluator = dict(_delete_=True, type='CocoMetric', ann_file=data_root + 'annotations/instances_val2017.json',
                     metric='bbox', format_only=False)
test_evaluator = val_evaluator
train_cfg = dict(max_iters=400000, val_interval=50000)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=400000, milestones=[300000], gamma=0.1)
]
default_hooks = dict(checkpoint=dict(interval=50000))
