# CASNet, separated mode (own backbone + FPN for the attribute branch), Shapes panoptic segmentation.
_base_ = ['./casnet_r18-c32_fpn_1xb4-2e_shapes128-panoptic.py']
model = dict(mode='separated')
