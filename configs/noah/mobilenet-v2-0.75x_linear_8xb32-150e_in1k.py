# MobileNetV2 x0.75 + GAP + LinearClsHead: the baseline paired with mobilenet-v2-0.75x_noah_8xb32-150e_in1k.py.
# The last 1x1 convolution keeps 1280 channels for widths <= 1, as in the paper's code.
_base_ = ['./mobilenet-v2-1.0x_linear_8xb32-150e_in1k.py']
model = dict(backbone=dict(widen_factor=0.75))
