# Group R-CNN teacher, COCO 10 % box-labelled, 50 epochs (the release's ..._50e_...: steps at 30 and 40).
_base_ = './group-rcnn_r50_fpn_8xb2-24e_coco-10p.py'

max_epochs = 50
train_cfg = dict(max_epochs=max_epochs, val_interval=10)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[30, 40], gamma=0.1)
]
test_evaluator = dict(outfile_prefix='work_dirs/group-rcnn_r50_fpn_8xb2-50e_coco-10p/pseudo')
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=max_epochs))
