# DeiT-Tiny + NOAH head (paper: no class token, all patch tokens go to NOAH with N=4 heads, key ratio 1/2,
# dropout 0.1; 74.29 top-1 vs 72.16). Same recipe as the baseline.
_base_ = ['./deit-tiny_linear_4xb256_in1k.py']
model = dict(
    backbone=dict(with_cls_token=False, out_type='featmap'),
    neck=None,
    head=dict(
        _delete_=True,
        type='NOAHHead',
        num_classes=1000,
        in_channels=192,
        head_num=4,
        key_ratio=0.5,
        dropout=0.1,
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original')))
