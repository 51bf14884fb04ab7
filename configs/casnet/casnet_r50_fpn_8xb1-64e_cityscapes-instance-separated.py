# CASNet R-50-FPN, separated mode (the attribute branch has its own ResNet-50 + FPN), Cityscapes instance.
_base_ = ['./casnet_r50_fpn_8xb1-64e_cityscapes-instance.py']
model = dict(mode='separated')
