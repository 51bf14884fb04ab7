# HyperNet-SP on Shapes: the proposal module's 3x3 conv (4 channels) runs once on the Hyper Feature, before RoI
# pooling (so each initial box pools 4 channels instead of 48). Everything else as the HyperNet Shapes config.
_base_ = './hypernet_vgg16-w0125-bn_1xb4-2e_shapes.py'

model = dict(rpn_head=dict(conv_before_pool=True))
