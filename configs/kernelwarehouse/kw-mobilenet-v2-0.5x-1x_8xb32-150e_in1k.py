# KW-MobileNetV2 x0.5 1x. Published top-1 68.29. The released JSON sets "smoothing": 0 for this one.
_base_ = ['./kw-mobilenet-v2-1.0x-1x_8xb32-150e_in1k.py']
model = dict(backbone=dict(widen_factor=0.5), head=dict(loss=dict(_delete_=True, type='CrossEntropyLoss',
                                                                  loss_weight=1.0)))
