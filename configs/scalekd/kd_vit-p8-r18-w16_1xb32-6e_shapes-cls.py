# Logit KD alone on Shapes, in ScaleKD's form (soft cross-entropy at T = 1, alpha 0.5, student CE x 0.5), from the
# same ViT teacher into the same student, recipe and schedule as scalekd_vit-p8-r18-w16_1xb32-6e_shapes-cls.py.
_base_ = ['./resnet18-w16-s34-ce0.5_1xb32-6e_shapes-cls.py']

teacher_ckpt = 'work_dirs/vit-p8-d64_1xb32-10e_shapes-cls/epoch_10.pth'
model = dict(
    _delete_=True,
    type='FeatureDistiller',
    student={{_base_.model}},
    teacher='{{fileDirname}}/vit-p8-d64_1xb32-10e_shapes-cls.py',
    teacher_ckpt=teacher_ckpt,
    distill_cfgs=[
        dict(name='kd', student=dict(source='head.fc'), teacher=dict(source='head.layers.head'),
             loss=dict(type='SoftCrossEntropyKDLoss', tau=1.0, loss_weight=0.5))
    ])
