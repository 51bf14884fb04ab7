# HBONet 0.25x, 4x down-sampling variant of Table 6 (the release's alternative cfgs rows, divisible_value 8,
# checkpoint pretrained/variant/hbonet_0_25_4x_8_divisible.pth).
# Published: 59.3 top-1 at 45M MAdds (58.3 for the 2x model).
_base_ = ['./hbonet-1.0x_8xb32-150e_in1k.py']
model = dict(backbone=dict(widen_factor=0.25, arch='4x', divisible_value=8))
