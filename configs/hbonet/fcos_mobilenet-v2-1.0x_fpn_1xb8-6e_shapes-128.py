# Baseline for fcos_hbonet-1.0x_fpn_1xb8-6e_shapes-128.py (same detector, data and schedule): mmdet's MobileNetV2
# 1.0x with its default init, stride-8 / 16 / 32 maps from stages 2, 4 and the final 1x1 conv (32 / 96 / 1280 ch).
_base_ = ['./fcos_hbonet-1.0x_fpn_1xb8-6e_shapes-128.py']
model = dict(
    backbone=dict(_delete_=True, type='MobileNetV2', widen_factor=1.0, out_indices=(2, 4, 7),
                  norm_cfg=dict(type='BN', requires_grad=True), norm_eval=False),
    neck=dict(in_channels=[32, 96, 1280]))
