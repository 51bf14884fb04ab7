# PS-ResNet-101 on ImageNet-1k, same recipe as ps-resnet50_8xb32-120e_in1k.py.
_base_ = ['./ps-resnet50_8xb32-120e_in1k.py']
model = dict(backbone=dict(depth=101))
