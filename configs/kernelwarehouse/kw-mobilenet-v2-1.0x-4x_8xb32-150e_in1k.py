# KW-MobileNetV2 x1.0 4x (cell_num_ratio=4, sharing_range ('layer', ): separate pwconv0/pwconv1/dwconv0
# warehouses per stage), same recipe as the 1x config. Published: 11.38M params, 75.92 top-1.
_base_ = ['./kw-mobilenet-v2-1.0x-1x_8xb32-150e_in1k.py']
model = dict(backbone=dict(cell_num_ratio=4, sharing_range=('layer', )))
