# PS-ResNeXt-101 32x4d on ImageNet-1k, same recipe as ps-resnet50_8xb32-120e_in1k.py. Trained from scratch here the
# correct grouped mask is used (50 % of the dense weights masked); to evaluate the released weights (presumably
# trained with the release's 6.25 % mask; psconv2mmext.py tells), add weight_layout='release', release_compat=True.
_base_ = ['./ps-resnet50_8xb32-120e_in1k.py']
model = dict(backbone=dict(_delete_=True, type='PSResNeXt', depth=101, groups=32, base_width=4, out_indices=(3, )))
