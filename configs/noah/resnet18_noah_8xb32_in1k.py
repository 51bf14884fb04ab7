# ResNet-18 + NOAH head (paper: N=4 heads, key ratio 1/2, dropout 0.1; 71.81 top-1 vs 70.25, 11.70M params).
# Same recipe as the linear baseline; the head replaces GAP + FC, so there is no neck.
_base_ = ['./resnet18_linear_8xb32_in1k.py']
model = dict(
    neck=None,
    head=dict(
        _delete_=True,
        type='NOAHHead',
        num_classes=1000,
        in_channels=512,
        head_num=4,
        key_ratio=0.5,
        dropout=0.1,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5)))
