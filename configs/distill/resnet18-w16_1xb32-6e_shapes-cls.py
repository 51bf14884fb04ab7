# The Shapes student baseline shared by the NORM, DKS and DCM Shapes configs: the quick-start ResNet-18 at a
# quarter of the width (stem and base channels 16, last stage 128) and a 6-epoch schedule, so that every
# comparison run fits a shared 2-core CPU. The distillation configs wrap exactly this model and schedule.
_base_ = ['../quickstart/resnet18_1xb32-20e_shapes-cls.py']

model = dict(backbone=dict(base_channels=16, stem_channels=16), head=dict(in_channels=128))
max_epochs = 6
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, by_epoch=True, begin=1, end=max_epochs)
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=max_epochs, max_keep_ckpts=1))
randomness = dict(seed=0)
