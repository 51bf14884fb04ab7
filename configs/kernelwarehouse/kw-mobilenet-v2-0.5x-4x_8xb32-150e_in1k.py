# KW-MobileNetV2 x0.5 4x. Published top-1 70.26 (label smoothing 0.1 inherited, as in the released JSON).
_base_ = ['./kw-mobilenet-v2-1.0x-4x_8xb32-150e_in1k.py']
model = dict(backbone=dict(widen_factor=0.5))
