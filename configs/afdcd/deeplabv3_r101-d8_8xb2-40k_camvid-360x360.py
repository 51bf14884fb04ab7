# Af-DCD's CamVid teacher, DeepLabV3-R101, on CamVid (360x360 crops) with Af-DCD's recipe: batch 16 (8 GPUs x 2), SGD
# lr 0.02, momentum 0.9, wd
# 1e-4, poly (power 0.9, to 0), 40k iterations (train_ocmgd.py defaults; the CamVid scripts set no others), SyncBN.
# mmseg has no CamVid model zoo, so this teacher is trained here first.
_base_ = ['../_base_/datasets/camvid.py', 'mmseg::_base_/default_runtime.py']
default_scope = 'mmseg'
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)

norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                           bgr_to_rgb=True, pad_val=0, seg_pad_val=11, size=(360, 360)),
    pretrained='open-mmlab://resnet101_v1c',
    backbone=dict(type='ResNetV1c', depth=101, num_stages=4, out_indices=(0, 1, 2, 3), dilations=(1, 1, 2, 4),
                  strides=(1, 2, 1, 1), norm_cfg=norm_cfg, norm_eval=False, style='pytorch', contract_dilation=True),
    decode_head=dict(type='ASPPHead', in_channels=2048, in_index=3, channels=512, dilations=(1, 12, 24, 36),
                     dropout_ratio=0.1,
                     num_classes=11, ignore_index=11, norm_cfg=norm_cfg, align_corners=False,
                     loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    auxiliary_head=dict(type='FCNHead', in_channels=1024, in_index=2, channels=256, num_convs=1, concat_input=False,
                        dropout_ratio=0.1, num_classes=11, ignore_index=11, norm_cfg=norm_cfg, align_corners=False,
                        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
train_dataloader = dict(batch_size=2)
optim_wrapper = dict(_delete_=True, type='OptimWrapper',
                     optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=1e-4), clip_grad=None)
param_scheduler = [dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=40000, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=40000, val_interval=4000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=4000, max_keep_ckpts=2))
