# Task-agnostic core, mmseg example: dense logit distillation (per-pixel KL, temperature 1, averaged over pixels)
# on the decode head's 1/8-resolution logits, from a trained quick-start FCN teacher into a fresh FCN student.
# The teacher runs in eval mode, so its decode-head Dropout2d (applied right before conv_seg) is off.
_base_ = ['../quickstart/fcn_r18-d8_1xb8-2k_shapes-seg.py']

teacher_ckpt = 'work_dirs/fcn_r18-d8_1xb8-2k_shapes-seg/iter_2000.pth'
model = dict(
    _delete_=True,
    type='FeatureDistiller',
    student={{_base_.model}},
    teacher='{{fileDirname}}/../quickstart/fcn_r18-d8_1xb8-2k_shapes-seg.py',
    teacher_ckpt=teacher_ckpt,
    distill_cfgs=[
        dict(name='logits',
             student=dict(source='decode_head.conv_seg'),
             teacher=dict(source='decode_head.conv_seg'),
             loss=dict(type='DistillKLDivLoss', tau=1.0, loss_weight=3.0))
    ])
