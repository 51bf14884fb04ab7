# OD-ResNet-34 4x (K=4) on ImageNet, same recipe as od-resnet18-1x_8xb32-100e_in1k.py.
# Published params / top-1 (OSVAI/ODConv README): unpublished.
_base_ = ['./od-resnet18-1x_8xb32-100e_in1k.py']
model = dict(backbone=dict(depth=34, kernel_num=4), head=dict(in_channels=512))
