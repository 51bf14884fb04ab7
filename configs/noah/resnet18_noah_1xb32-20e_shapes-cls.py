# ResNet-18 + NOAH head on Shapes crops (64x64 input -> 2x2 final map), same schedule as the linear baseline.
# Paper's ResNet-18 settings: N=4 heads, key ratio 1/2, dropout 0.1.
_base_ = ['./resnet18_linear_1xb32-20e_shapes-cls.py']
model = dict(
    neck=None,
    head=dict(
        _delete_=True,
        type='NOAHHead',
        num_classes=5,
        in_channels=512,
        head_num=4,
        key_ratio=0.5,
        dropout=0.1,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, )))
