# Baseline for the HyperNet Shapes comparison: mmdet's Faster R-CNN with FPN (48 channels, the Hyper Feature's
# width) on conv3_3, conv4_3, conv5_3 (strides 4, 8, 16) of the same 1/8-width VGG-16. One anchor scale per level
# (32, 64, 128 px x 3 ratios: the sizes of HyperNet's initial boxes); everything else as the C5 baseline.
_base_ = './faster-rcnn_vgg16-w0125-bn-c5_1xb4-2e_shapes.py'

model = dict(
    backbone=dict(out_names=('conv3_3', 'conv4_3', 'conv5_3')),
    neck=dict(type='FPN', in_channels=[32, 64, 64], out_channels=48, num_outs=3),
    rpn_head=dict(
        in_channels=48,
        feat_channels=48,
        anchor_generator=dict(type='AnchorGenerator', strides=[4, 8, 16], ratios=[0.5, 1.0, 2.0], scales=[8])),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=48, featmap_strides=[4, 8, 16]),
        bbox_head=dict(in_channels=48)))
