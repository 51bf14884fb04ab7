# The plain WRN-28-10 baseline on CIFAR-100 with the DKS/DCM recipe (sundw2014/DKS, wrn_DKS): 200 epochs, batch
# 128 on one GPU, SGD lr 0.1, momentum 0.9, wd 5e-4, lr x0.2 at epochs 60/120/160; reflect-pad 4 + random 32x32
# crop + horizontal flip. Paper: 18.72 +- 0.24 top-1 error (18.64 with dropout 0.3: set
# model.backbone.drop_rate=0.3). The official code rebuilds the optimizer at each lr step (momentum buffers
# reset); mmengine's MultiStepLR keeps them. The DKS and DCM WRN configs wrap exactly this model and schedule.
_base_ = [
    'mmpretrain::_base_/datasets/cifar100_bs16.py',
    'mmpretrain::_base_/default_runtime.py',
]
default_scope = 'mmpretrain'
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)

model = dict(
    type='ImageClassifier',
    backbone=dict(type='CifarWideResNet', depth=28, widen_factor=10, drop_rate=0.0),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=100, in_channels=640,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0), topk=(1, 5)))

train_pipeline = [
    dict(type='RandomCrop', crop_size=32, padding=4, padding_mode='reflect'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
train_dataloader = dict(batch_size=128, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=128)
test_dataloader = dict(batch_size=128)

optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4))
param_scheduler = dict(type='MultiStepLR', by_epoch=True, milestones=[60, 120, 160], gamma=0.2)
train_cfg = dict(by_epoch=True, max_epochs=200, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=128)
