# The FCOS quick-start detector on Shapes (configs/quickstart/fcos_r18-c32_fpn_1xb8-12e_shapes.py: 12 epochs, AdamW
# 2e-3, FPN 64 channels, from scratch) with a half-width PS-ResNet-50 (base_channels=32; C3-C5 = 256/512/1024
# channels). Baseline with the plain ResNet-50 at the same width: fcos_r50-c32_fpn_1xb8-12e_shapes.py.
_base_ = ['../quickstart/fcos_r18-c32_fpn_1xb8-12e_shapes.py']
model = dict(
    backbone=dict(_delete_=True, type='PSResNet', depth=50, base_channels=32, out_indices=(1, 2, 3)),
    neck=dict(in_channels=[256, 512, 1024]))
