# The ScaleKD Shapes ViT teacher trained longer: 30 epochs, AdamW 5e-4, 3 warm-up epochs (the 10-epoch, 2e-4 run
# of vit-p8-d64_1xb32-10e_shapes-cls.py ended at 23 % top-1, barely above chance: a ViT from scratch on 1.2k crops
# needs more steps). Same architecture, so the ScaleKD/KD Shapes configs take its checkpoint through
# --cfg-options model.teacher_ckpt=work_dirs/vit-p8-d64_1xb32-30e_shapes-cls/epoch_30.pth
_base_ = ['./vit-p8-d64_1xb32-10e_shapes-cls.py']
max_epochs = 30
optim_wrapper = dict(optimizer=dict(lr=5e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=3, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 3, by_epoch=True, begin=3, end=max_epochs)
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=10)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=max_epochs, max_keep_ckpts=1))
