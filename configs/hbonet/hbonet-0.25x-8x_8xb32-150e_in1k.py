# HBONet 0.25x, 8x down-sampling variant of Table 6 (the release's alternative cfgs rows, divisible_value 8,
# checkpoint pretrained/variant/hbonet_0_25_8x_8_divisible.pth). Published: not retrieved.
_base_ = ['./hbonet-1.0x_8xb32-150e_in1k.py']
model = dict(backbone=dict(widen_factor=0.25, arch='8x', divisible_value=8))
