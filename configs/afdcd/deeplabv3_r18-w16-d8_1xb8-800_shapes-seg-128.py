# The Af-DCD Shapes student alone: DeepLabV3 on a dilated ResNetV1c-18 at quarter width (base 16, c4 = 128
# channels) with the auxiliary FCN head on c3 (weight 0.4, as the release's ResNet students), 128x128 crops,
# 800 iterations (CPU-sized; the 200 of earlier tables were too short for any student to separate grass, see the
# README). The distillation configs of this folder wrap exactly this model and schedule.
_base_ = ['./deeplabv3_r18-w32-d8_1xb8-500_shapes-seg-128.py']

norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    backbone=dict(base_channels=16, stem_channels=16),
    decode_head=dict(in_channels=128, channels=32),
    auxiliary_head=dict(type='FCNHead', in_channels=64, in_index=2, channels=32, num_convs=1, concat_input=False,
                        dropout_ratio=0.1, num_classes=8, norm_cfg=norm_cfg, align_corners=False,
                        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)))
max_iters = 800
param_scheduler = [dict(type='PolyLR', eta_min=1e-5, power=0.9, begin=0, end=max_iters, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters // 2)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=max_iters, max_keep_ckpts=1))
