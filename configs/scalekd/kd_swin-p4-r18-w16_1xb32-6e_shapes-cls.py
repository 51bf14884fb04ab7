# Logit KD alone on Shapes (ScaleKD's soft-CE form, T = 1, alpha 0.5, student CE x 0.5) from the Swin teacher of
# scalekd_swin-p4-r18-w16_1xb32-6e_shapes-cls.py, same student, recipe and schedule.
_base_ = ['./kd_vit-p8-r18-w16_1xb32-6e_shapes-cls.py']

teacher_ckpt = 'work_dirs/swin-p4-d16_1xb16-100e_shapes-cls/epoch_100.pth'
model = dict(
    teacher='{{fileDirname}}/swin-p4-d16_1xb16-100e_shapes-cls.py',
    teacher_ckpt=teacher_ckpt,
    distill_cfgs=[
        dict(name='kd', student=dict(source='head.fc'), teacher=dict(source='head.fc'),
             loss=dict(type='SoftCrossEntropyKDLoss', tau=1.0, loss_weight=0.5))
    ])
