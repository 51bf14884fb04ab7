# HBONet 1.0x as an FCOS backbone on Shapes (issue 16): the detector, data (128 px) and schedule (6 epochs) of the
# Shapes detection comparison, ../psconv/fcos_ps-r50-c32_fpn_1xb8-6e_shapes-128.py, with HBONet's stride-8 / 16 / 32
# maps: row 3 (96 ch), row 6 (the linear 1x1 conv, 144 ch) and the final 1x1 conv (1600 ch), the release's init.
# Baseline: fcos_mobilenet-v2-1.0x_fpn_1xb8-6e_shapes-128.py (MobileNetV2 1.0x, the same detector and schedule).
_base_ = ['../psconv/fcos_ps-r50-c32_fpn_1xb8-6e_shapes-128.py']
model = dict(
    backbone=dict(_delete_=True, type='HBONet', widen_factor=1.0, out_indices=(3, 6, 9)),
    neck=dict(in_channels=[96, 144, 1600]))
