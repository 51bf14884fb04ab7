# Baseline for hbonet-1.0x_1xb32-8e_shapes-cls.py: mmpretrain's MobileNetV2 1.0x (1280-channel last conv), same
# head, data and schedule.
_base_ = ['./hbonet-1.0x_1xb32-8e_shapes-cls.py']
model = dict(
    backbone=dict(_delete_=True, type='MobileNetV2', widen_factor=1.0),
    head=dict(in_channels=1280))
