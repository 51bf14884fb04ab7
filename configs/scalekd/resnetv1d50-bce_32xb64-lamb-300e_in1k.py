# ScaleKD's advanced-strategy student alone (the release's configs/resnet/resnet50_8xb32_in1k_strong_aug_coslr_300.py
# and its bases): ResNetV1d-50, BCE (sigmoid) multi-label linear head, LAMB lr 5e-3 wd 0.02, batch 2048 (32 GPUs x 64),
# 5-epoch linear warm-up from 0.25 then cosine, 300 epochs, gradient clipping at 5, RandAugment (timm increasing,
# 2 ops, magnitude 7, std 0.5), RandomErasing 0.25, bicubic crops.
_base_ = ['mmpretrain::resnet/resnetv1d50_8xb32_in1k.py']
default_scope = 'mmpretrain'
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)

model = dict(head=dict(_delete_=True, type='MultiLabelLinearClsHead', num_classes=1000, in_channels=2048,
                       loss=dict(type='CrossEntropyLoss', loss_weight=1.0, use_sigmoid=True)))
bgr_mean = [103.53, 116.28, 123.675]
bgr_std = [57.375, 57.12, 58.395]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=224, backend='pillow', interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandAugment', policies='timm_increasing', num_policies=2, total_level=8, magnitude_level=7,
         magnitude_std=0.5, hparams=dict(pad_val=[round(x) for x in bgr_mean], interpolation='bicubic')),
    dict(type='RandomErasing', erase_prob=0.25, mode='rand', min_area_ratio=0.02, max_area_ratio=1 / 3,
         fill_color=bgr_mean, fill_std=bgr_std),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=256, edge='short', backend='pillow', interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]
train_dataloader = dict(batch_size=64, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=64, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
optim_wrapper = dict(_delete_=True, optimizer=dict(type='Lamb', lr=5e-3, weight_decay=0.02),
                     clip_grad=dict(max_norm=5.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.25, by_epoch=True, begin=0, end=5, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=295, by_epoch=True, begin=5, end=300)
]
train_cfg = dict(by_epoch=True, max_epochs=300, val_interval=1)
auto_scale_lr = dict(base_batch_size=2048)
