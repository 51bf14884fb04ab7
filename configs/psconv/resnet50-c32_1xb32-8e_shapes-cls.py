# Baseline for ps-resnet50-c32_1xb32-8e_shapes-cls.py: mmpretrain's plain ResNet-50 at the same half width, same
# init, head, data and schedule.
_base_ = ['./ps-resnet50-c32_1xb32-8e_shapes-cls.py']
model = dict(
    backbone=dict(
        _delete_=True,
        type='ResNet',
        depth=50,
        stem_channels=32,
        base_channels=32,
        out_indices=(3, ),
        zero_init_residual=False,
        init_cfg={{_base_.conv_init}}))
