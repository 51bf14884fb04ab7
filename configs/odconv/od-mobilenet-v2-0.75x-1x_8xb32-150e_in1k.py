# OD-MobileNetV2 x0.75 1x (K=1) on ImageNet, same recipe as od-mobilenet-v2-1.0x-1x_8xb32-150e_in1k.py.
# Published params / top-1 (OSVAI/ODConv README): 3.51M/72.71.
_base_ = ['./od-mobilenet-v2-1.0x-1x_8xb32-150e_in1k.py']
model = dict(backbone=dict(widen_factor=0.75, kernel_num=1))
