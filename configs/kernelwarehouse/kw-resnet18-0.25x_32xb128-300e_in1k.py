# KW-ResNet-18 1/4x (cell_num_ratio=0.25, cell in/out ratios 0.5) on ImageNet, same recipe as
# kw-resnet18-1x_32xb128-300e_in1k.py except that the released JSON turns Mixup and CutMix off (and dropout).
# Published top-1 72.73; params: the README says 4.08M but the released code gives 4.03M (our count too).
_base_ = ['./kw-resnet18-1x_32xb128-300e_in1k.py']
model = dict(
    backbone=dict(cell_num_ratio=0.25, cell_inplane_ratio=0.5, cell_outplane_ratio=0.5),
    train_cfg=dict(_delete_=True))
