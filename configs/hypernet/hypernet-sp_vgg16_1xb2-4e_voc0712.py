# HyperNet-SP (VGG-16) on VOC07+12: the proposal module's 3x3 conv (4 channels) moved before RoI pooling.
# Reported: ~76.2 mAP VOC07 test (paper); the ~5 fps model. Not reproduced here.
_base_ = './hypernet_vgg16_1xb2-4e_voc0712.py'

model = dict(rpn_head=dict(conv_before_pool=True))
