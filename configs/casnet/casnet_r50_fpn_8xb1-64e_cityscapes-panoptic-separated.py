# CASNet R-50-FPN, separated mode (own ResNet-50 + FPN for the attribute branch), Cityscapes panoptic.
_base_ = ['./casnet_r50_fpn_8xb1-64e_cityscapes-panoptic.py']
model = dict(mode='separated')
