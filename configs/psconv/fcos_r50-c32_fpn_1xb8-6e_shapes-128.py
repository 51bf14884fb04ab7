# Baseline for fcos_ps-r50-c32_fpn_1xb8-6e_shapes-128.py (same detector, data and schedule): mmdet's plain
# ResNet-50 at the same half width.
_base_ = ['./fcos_ps-r50-c32_fpn_1xb8-6e_shapes-128.py']
model = dict(
    backbone=dict(_delete_=True, type='ResNet', depth=50, base_channels=32, num_stages=4, out_indices=(1, 2, 3),
                  frozen_stages=-1, norm_cfg=dict(type='BN', requires_grad=True), norm_eval=False, style='pytorch',
                  zero_init_residual=False,  # PSResNet has no zero-init residual either
                  init_cfg=None))
