# Static baseline for the OD/KW Shapes runs: the same half-width ResNet-18 (base_channels=32), head, data and
# schedule as od-resnet18-4x-c32_1xb32-8e_shapes-cls.py, with ordinary convolutions and no temperature hook.
# Conv init as in configs/quickstart/resnet18_1xb32-20e_shapes-cls.py (PyTorch's default; see the note there).
_base_ = ['./od-resnet18-4x-c32_1xb32-8e_shapes-cls.py']
model = dict(
    backbone=dict(
        _delete_=True,
        type='ResNet',
        depth=18,
        base_channels=32,
        out_indices=(3, ),
        zero_init_residual=False,
        init_cfg=[
            dict(type='Kaiming', layer='Conv2d', a=5**0.5, mode='fan_in', nonlinearity='leaky_relu',
                 distribution='uniform'),
            dict(type='Constant', val=1, layer=['_BatchNorm'])
        ]))
custom_hooks = []
