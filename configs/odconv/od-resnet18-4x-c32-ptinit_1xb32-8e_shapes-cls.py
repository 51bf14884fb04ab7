# od-resnet18-4x-c32_1xb32-8e_shapes-cls.py with two changes for this short from-scratch schedule:
# - PyTorch's default conv init for the K kernels and the static stem / downsample convs (ODResNet
#   conv_init='pytorch'), the init of the static baseline resnet18-c32_1xb32-8e_shapes-cls.py;
# - the temperature annealed 30 -> 1 over 6 of the 8 epochs instead of 2: at T=1 from the start the per-sample
#   gates slow the early training to a crawl (see README, "Results on Shapes").
_base_ = ['./od-resnet18-4x-c32_1xb32-8e_shapes-cls.py']
model = dict(backbone=dict(conv_init='pytorch'))
custom_hooks = [dict(type='ODConvTemperatureHook', temp_init=30.0, temp_epochs=6)]
