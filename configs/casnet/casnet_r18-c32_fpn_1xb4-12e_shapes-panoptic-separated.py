# CASNet, separated mode (own backbone + FPN for the attribute branch), Shapes panoptic segmentation.
_base_ = ['./casnet_r18-c32_fpn_1xb4-12e_shapes-panoptic.py']
model = dict(mode='separated')
