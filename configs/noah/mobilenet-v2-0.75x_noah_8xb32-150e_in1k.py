# MobileNetV2 x0.75 + NOAH head (paper: N=8 heads, key ratio 1/4, dropout 0.2; 71.44 top-1 vs 69.65).
_base_ = ['./mobilenet-v2-1.0x_noah_8xb32-150e_in1k.py']
model = dict(backbone=dict(widen_factor=0.75))
