# ScaleKD's Shapes Swin teacher: a small Swin Transformer on the 64x64 Shapes crops: overlapping 7x7 patch
# embedding at stride 4 (token grids 16/8/4/2), window 4 (2 in the 2x2 stage 4), embed 16, depths 2-2-2-2, heads
# 1-2-4-8, so stage 3 = 64 ch @ 4x4 and stage 4 = 128 ch @ 2x2, the ResNet-18-w16 student's stage-3/4 shapes.
# Trained from scratch (CPU-sized): batch 16, AdamW 3e-4, wd 0.05, gradient clipping at norm 5, 2 warm-up epochs
# then cosine to 30 epochs, no stochastic depth. (Tried first at embed 32, batch 32, non-overlapping patches: AdamW
# 5e-4 with drop-path 0.1 reached 37.2 % after 10 epochs and 47.1 % after 20; 2e-3 sat at chance for 5 epochs.)
_base_ = ['../distill/resnet18-w16_1xb32-6e_shapes-cls.py']

model = dict(
    _delete_=True,
    type='ImageClassifier',
    backbone=dict(type='SwinTransformer', arch=dict(embed_dims=16, depths=[2, 2, 2, 2], num_heads=[1, 2, 4, 8]),
                  img_size=64, patch_size=4, patch_cfg=dict(kernel_size=7, padding=3), window_size=4,
                  stage_cfgs=[dict(), dict(), dict(), dict(window_size=2)], drop_path_rate=0.0,
                  out_indices=(3, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=5, in_channels=128,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0), topk=(1, )))
train_dataloader = dict(batch_size=16)
max_epochs = 30
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=3e-4, weight_decay=0.05), clip_grad=dict(max_norm=5.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=2, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 2, by_epoch=True, begin=2, end=max_epochs)
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=5)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=max_epochs, max_keep_ckpts=1))
