# CASNet, separated mode: the attribute branch has its own ResNet-18-c32 + FPN, so the semantic and the instance
# networks share nothing (trained independently in one run); Shapes instance segmentation.
_base_ = ['./casnet_r18-c32_fpn_1xb4-2e_shapes128-instance.py']
model = dict(mode='separated')
