# NORM's Shapes teacher: ResNet-34 at the student baseline's quarter width (last stage 128 channels), the recipe of
# configs/distill/resnet18-w16_1xb32-6e_shapes-cls.py trained for 20 epochs instead of 6 (a teacher is trained to
# convergence first; the students' schedules stay equal). Train it first (see README.md).
_base_ = ['../distill/resnet18-w16_1xb32-6e_shapes-cls.py']
model = dict(backbone=dict(depth=34))
max_epochs = 20
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, by_epoch=True, begin=1, end=max_epochs)
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=max_epochs, max_keep_ckpts=1))
