# NORM on Shapes classification: ResNet-34 teacher -> ResNet-18 student, both at quarter width, with the student
# baseline's recipe and schedule (configs/distill/resnet18-w16_1xb32-6e_shapes-cls.py). N = 8 (128 -> 1024
# channels), CE weight 1, NORM weight 1; the ImageNet beta_1 schedule (0.1/0.5/0.9/0.5/0.1 switching at
# 5/15/60/80 % of training) scaled to 6 epochs.
_base_ = ['../distill/resnet18-w16_1xb32-6e_shapes-cls.py']

teacher_ckpt = 'work_dirs/resnet34-w16_1xb32-20e_shapes-cls/epoch_20.pth'
model = dict(
    _delete_=True,
    type='NORMDistiller',
    student={{_base_.model}},
    teacher='{{fileDirname}}/resnet34-w16_1xb32-20e_shapes-cls.py',
    teacher_ckpt=teacher_ckpt,
    in_channels=128,
    teacher_channels=128,
    num_segments=8,
    norm_loss=dict(type='NORMLoss', loss_weight=1.0))
custom_hooks = [
    dict(type='DistillLossWeightHook', milestones=[0.3, 0.9, 3.6, 4.8], values=[0.1, 0.5, 0.9, 0.5, 0.1])
]
