# MobileNetV2 x1.0 + NOAH head (paper: N=8 heads, key ratio 1/4, dropout 0.2; 73.35 top-1 vs 72.02).
_base_ = ['./mobilenet-v2-1.0x_linear_8xb32-150e_in1k.py']
model = dict(
    neck=None,
    head=dict(
        _delete_=True,
        type='NOAHHead',
        num_classes=1000,
        in_channels=1280,
        head_num=8,
        key_ratio=0.25,
        dropout=0.2,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5)))
