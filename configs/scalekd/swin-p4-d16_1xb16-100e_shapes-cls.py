# ScaleKD's Shapes Swin teacher on a longer schedule: the same small Swin Transformer and recipe as
# swin-p4-d16_1xb16-30e_shapes-cls.py (batch 16, AdamW 3e-4, wd 0.05, clipping at norm 5, 2 warm-up epochs), with the
# cosine schedule stretched to 100 epochs, because at 30 epochs (54.5 % top-1) the teacher was still climbing and
# stayed below the ResNet-18-w16 student (~71 %).
_base_ = ['./swin-p4-d16_1xb16-30e_shapes-cls.py']

max_epochs = 100
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=2, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 2, by_epoch=True, begin=2, end=max_epochs)
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=10)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=max_epochs, max_keep_ckpts=1))
