# HyperNet (VGG-16) on VOC07+12 trainval, tested on VOC07 test (11-point mAP).
# Paper: Kong, Yao, Chen, Sun, "HyperNet: Towards Accurate Region Proposal Generation and Joint Object Detection",
# CVPR 2016, arXiv:1604.00600. Reported: 76.3 mAP (VOC07 test, 07+12), recall ~97% at IoU 0.5 with 100 proposals.
# Not reproduced here (no VOC, no GPU in this project). Model: ../_base_/models/hypernet_vgg16.py (the paper's
# settings); input ~1000x600 (mmdet's VOC pipeline); joint training with mmdet's Faster R-CNN VOC schedule (the
# paper's schedule is not in our facts): see configs/hypernet/README.md.
_base_ = [
    '../_base_/models/hypernet_vgg16.py',
    'mmdet::_base_/datasets/voc0712.py',
    'mmdet::_base_/default_runtime.py',
]
default_scope = 'mmdet'
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)

# mmdet's VOC0712 data (1000x600, flip; trainval repeated 3x) with its Faster R-CNN VOC schedule
train_dataloader = dict(batch_size=2, num_workers=2)
max_epochs = 4
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[3], gamma=0.1)]
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.0025, momentum=0.9, weight_decay=0.0005))
auto_scale_lr = dict(enable=False, base_batch_size=2)
