# WRN-16-2 alone on CIFAR-100 (paper's baseline 73.26 top-1), NORM's CIFAR recipe (see wrn40-2_1xb64-240e_
# cifar100.py). The student of norm_wrn40-2-wrn16-2_1xb64-240e_cifar100.py: its exported student loads here.
_base_ = ['./wrn40-2_1xb64-240e_cifar100.py']
model = dict(backbone=dict(depth=16, widen_factor=2), head=dict(in_channels=128))
