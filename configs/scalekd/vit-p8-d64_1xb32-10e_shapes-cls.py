# ScaleKD's Shapes teacher: a small ViT (patch 8 on the 64x64 Shapes crops: an 8x8 token grid + cls token, 4 blocks
# of width 64, 2 heads), trained from scratch for 10 epochs (CPU-sized): AdamW 2e-4 (the Shapes recipe's 1e-3 left it at
# chance, loss ln 5, for 9 epochs), gradient clipping at norm 1 (mmpretrain's ViT recipes), 1 warm-up epoch, cosine,
# and stochastic depth 0.1, which the distiller must keep off while it teaches.
_base_ = ['../distill/resnet18-w16_1xb32-6e_shapes-cls.py']

model = dict(
    _delete_=True,
    type='ImageClassifier',
    backbone=dict(type='VisionTransformer', arch=dict(embed_dims=64, num_layers=4, num_heads=2,
                                                      feedforward_channels=256),
                  img_size=64, patch_size=8, drop_path_rate=0.1, out_type='cls_token'),
    head=dict(type='VisionTransformerClsHead', num_classes=5, in_channels=64,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0), topk=(1, )))
max_epochs = 10
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=2e-4, weight_decay=0.05), clip_grad=dict(max_norm=1.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, by_epoch=True, begin=1, end=max_epochs)
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=5)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=max_epochs, max_keep_ckpts=1))
