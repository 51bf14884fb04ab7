# od-resnet18-4x-c32_1xb32-8e_shapes-cls.py with PyTorch's default conv init for the K kernels and the static
# stem / downsample convs (ODResNet conv_init='pytorch'), i.e. the init of the static baseline
# resnet18-c32_1xb32-8e_shapes-cls.py, to separate the effect of the init from that of the dynamic convolution.
_base_ = ['./od-resnet18-4x-c32_1xb32-8e_shapes-cls.py']
model = dict(backbone=dict(conv_init='pytorch'))
