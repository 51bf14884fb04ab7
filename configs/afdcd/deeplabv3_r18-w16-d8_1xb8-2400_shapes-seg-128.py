# Af-DCD's Shapes teacher: the students' own model (DeepLabV3 on a dilated ResNetV1c-18 at quarter width, c4 = 128
# channels, aux FCN head 0.4) and recipe (plain cross-entropy, the same pipeline) on a 3x longer schedule, 2400
# iterations, so that it segments the shapes the 800-iteration students miss. It replaces the class-weighted
# teacher deeplabv3_r18-w16-d8_1xb8-800-cw_shapes-seg-128.py: weighting the shapes 5x in its CE made it put most
# of its probability on shape classes where they are absent (on grass pixels 0.29 for grass, 0.57 for the shapes,
# measured on val at the 1/8 logits), and the KL of logit KD handed that miscalibration to the students (README).
# Train it first; the Af-DCD, KD and MGD students of this folder distil from its last checkpoint.
_base_ = ['./deeplabv3_r18-w16-d8_1xb8-800_shapes-seg-128.py']

max_iters = 2400
param_scheduler = [dict(type='PolyLR', eta_min=1e-5, power=0.9, begin=0, end=max_iters, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=800)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=max_iters, max_keep_ckpts=1))
