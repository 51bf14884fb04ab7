# OD-ResNet-101 1x (K=1) on ImageNet, same recipe as od-resnet18-1x_8xb32-100e_in1k.py.
# Published params / top-1 (OSVAI/ODConv README): 50.82M/78.84.
_base_ = ['./od-resnet18-1x_8xb32-100e_in1k.py']
model = dict(backbone=dict(depth=101, kernel_num=1), head=dict(in_channels=2048))
