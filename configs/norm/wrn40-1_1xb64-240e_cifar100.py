# WRN-40-1 alone on CIFAR-100 (paper's baseline 71.98 top-1), NORM's CIFAR recipe (see wrn40-2_1xb64-240e_
# cifar100.py). The student of norm_wrn40-2-wrn40-1_1xb64-240e_cifar100.py: its exported student loads here.
_base_ = ['./wrn40-2_1xb64-240e_cifar100.py']
model = dict(backbone=dict(depth=40, widen_factor=1), head=dict(in_channels=64))
