# NORM's Shapes teacher: ResNet-34 at the baseline's quarter width (last stage 128 channels), same recipe as the
# student baseline configs/distill/resnet18-w16_1xb32-6e_shapes-cls.py. Train it first (see README.md).
_base_ = ['../distill/resnet18-w16_1xb32-6e_shapes-cls.py']
model = dict(backbone=dict(depth=34))
