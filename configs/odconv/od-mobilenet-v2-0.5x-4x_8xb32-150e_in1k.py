# OD-MobileNetV2 x0.5 4x (K=4) on ImageNet, same recipe as od-mobilenet-v2-1.0x-1x_8xb32-150e_in1k.py.
# Published params / top-1 (OSVAI/ODConv README): 4.44M/70.23.
_base_ = ['./od-mobilenet-v2-1.0x-1x_8xb32-150e_in1k.py']
model = dict(backbone=dict(widen_factor=0.5, kernel_num=4))
