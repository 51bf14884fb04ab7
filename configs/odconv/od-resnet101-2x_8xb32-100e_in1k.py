# OD-ResNet-101 2x (K=2) on ImageNet, same recipe as od-resnet18-1x_8xb32-100e_in1k.py.
# Published params / top-1 (OSVAI/ODConv README): 90.44M/79.15.
_base_ = ['./od-resnet18-1x_8xb32-100e_in1k.py']
model = dict(backbone=dict(depth=101, kernel_num=2), head=dict(in_channels=2048))
