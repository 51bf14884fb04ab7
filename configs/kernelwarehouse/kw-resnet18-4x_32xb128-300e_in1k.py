# KW-ResNet-18 4x (cell_num_ratio=4, cell in/out ratios 1/1, nonlocal_basis_ratio=1.0) on ImageNet, same
# recipe as kw-resnet18-1x_32xb128-300e_in1k.py. Published params / top-1: 45.86M/76.05.
_base_ = ['./kw-resnet18-1x_32xb128-300e_in1k.py']
model = dict(
    backbone=dict(depth=18, cell_num_ratio=4, cell_inplane_ratio=1, cell_outplane_ratio=1,
                  nonlocal_basis_ratio=1.0),
    head=dict(in_channels=512))
