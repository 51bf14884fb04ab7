# KW-ResNet-18 0.5x (cell_num_ratio=0.5, cell in/out ratios 0.5/0.5, nonlocal_basis_ratio=1.0) on ImageNet, same
# recipe as kw-resnet18-1x_32xb128-300e_in1k.py. Published params / top-1: 7.43M/73.33.
_base_ = ['./kw-resnet18-1x_32xb128-300e_in1k.py']
model = dict(
    backbone=dict(depth=18, cell_num_ratio=0.5, cell_inplane_ratio=0.5, cell_outplane_ratio=0.5,
                  nonlocal_basis_ratio=1.0),
    head=dict(in_channels=512))
