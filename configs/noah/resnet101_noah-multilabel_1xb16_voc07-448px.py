# Multi-label NOAH head on PASCAL VOC 2007 (sigmoid loss, mmpretrain's VOC metrics), ResNet-101 settings of the
# paper (N=4 heads, key ratio 1/8, dropout 0.1); same recipe as the linear baseline.
_base_ = ['./resnet101_linear-multilabel_1xb16_voc07-448px.py']
model = dict(
    neck=None,
    head=dict(
        _delete_=True,
        type='NOAHMultiLabelClsHead',
        num_classes=20,
        in_channels=2048,
        head_num=4,
        key_ratio=0.125,
        dropout=0.1,
        loss=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)))
