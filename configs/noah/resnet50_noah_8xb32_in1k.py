# ResNet-50 + NOAH head (paper: N=4 heads, key ratio 1/8, dropout 0.1; 77.25 top-1 vs 76.23).
_base_ = ['./resnet50_linear_8xb32_in1k.py']
model = dict(
    neck=None,
    head=dict(
        _delete_=True,
        type='NOAHHead',
        num_classes=1000,
        in_channels=2048,
        head_num=4,
        key_ratio=0.125,
        dropout=0.1,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5)))
