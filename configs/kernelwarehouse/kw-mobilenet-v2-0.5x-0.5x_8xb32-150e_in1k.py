# KW-MobileNetV2 x0.5 1/2x (released kw1d2x_mobilenetv2_050, its JSON also sets "smoothing": 0), same recipe as the
# x1.0 1/2x config. Published top-1 65.20 (no parameter count published; ours: 1.47M with 1000 classes).
_base_ = ['./kw-mobilenet-v2-1.0x-0.5x_8xb32-150e_in1k.py']
model = dict(backbone=dict(widen_factor=0.5))
