# Af-DCD's Shapes teacher: the student's own model (DeepLabV3 on a dilated ResNetV1c-18 at quarter width, c4 = 128
# channels, aux FCN head 0.4) on the students' 800-iteration schedule, with the five shape classes weighted 5x in
# both cross-entropies (and resize ratios 1.0-1.5, see below). Without the weights the
# shapes are never segmented in these CPU-sized schedules: this model reached 29.10 mIoU after 500 of 1000
# unweighted iterations with IoU 0 on every shape class (background / water / grass only), as did the half-width
# 500-iteration deeplabv3_r18-w32-d8_1xb8-500_shapes-seg-128.py (29.86) and the earlier 200-iteration students (27).
# It was the teacher of the earlier Shapes tables; the distillation configs now use the plain 2400-iteration
# deeplabv3_r18-w16-d8_1xb8-2400_shapes-seg-128.py, because this one is miscalibrated (README, "Results on Shapes").
_base_ = ['./deeplabv3_r18-w16-d8_1xb8-800_shapes-seg-128.py']

class_weight = [5.0] * 5 + [1.0] * 3  # circle, square, triangle, star, hexagon | background, water, grass
model = dict(
    decode_head=dict(loss_decode=dict(class_weight=class_weight)),
    auxiliary_head=dict(loss_decode=dict(class_weight=class_weight)))
# mmseg's class-weighted CE indexes the weights with every label, so no pixel may carry the ignore value 255:
# resize by 1.0-1.5 (not 0.75-1.5) so that 128x128 crops never need padding (the masks have no 255 of their own)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=(128, 128), ratio_range=(1.0, 1.5), keep_ratio=True),
    dict(type='RandomCrop', crop_size=(128, 128), cat_max_ratio=0.9),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
max_iters = 800
param_scheduler = [dict(type='PolyLR', eta_min=1e-5, power=0.9, begin=0, end=max_iters, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=400)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=max_iters, max_keep_ckpts=1))
