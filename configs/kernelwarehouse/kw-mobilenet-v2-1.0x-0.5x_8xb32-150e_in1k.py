# KW-MobileNetV2 x1.0 1/2x on ImageNet: the released KW1d2x_MobileNetV2 (models/kw1d2x_mobilenetv2.py) with its JSON
# (configs/mobilenetv2_100/kw1d2x_mobilenetv2_100.json): 150 epochs, SGD lr 0.05 for batch 256, wd 4e-5, cosine,
# no warm-up, plain augmentation, "smoothing": 0 (plain cross-entropy), tau 1 -> 0 over the first 15 epochs.
# Backbone: reduction 1/32, static pw convs in stages 1-5, per-warehouse ratios (arch='0.5x'); classifier: Dropout
# 0.1 + a KWLinear with its own warehouse (KWLinearClsHead). Published: 2.65M params, 72.59 top-1 (ours: 2.65M).
_base_ = ['./kw-mobilenet-v2-1.0x-1x_8xb32-150e_in1k.py']
model = dict(
    backbone=dict(_delete_=True, type='KWMobileNetV2', widen_factor=1.0, arch='0.5x', out_indices=(7, )),
    head=dict(_delete_=True, type='KWLinearClsHead', num_classes=1000, in_channels=1280, dropout=0.1,
              reduction=0.03125, cell_num_ratio=0.5, cell_inplane_ratio=0.025, cell_outplane_ratio=1.0,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0), topk=(1, 5)))
