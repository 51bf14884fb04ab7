# DKS on Shapes classification: the quarter-width ResNet-18 baseline (configs/distill/resnet18-w16_1xb32-6e_shapes
# -cls.py, same recipe and schedule) with three auxiliary branches. CE on all 4 heads + the pairwise synergy KL
# (12 terms), every weight 1, temperature 1. Branches (our ResNet adaptation of the released WRN design):
# after layer1 a copy of layer2 then layer3/layer4 with half the blocks; after layer2 a copy of layer3 then
# layer4 with half the blocks; after layer3 layer4 at double width.
_base_ = ['../distill/resnet18-w16_1xb32-6e_shapes-cls.py']

num_classes = 5
model = dict(
    _delete_=True,
    type='DKSDistiller',
    student={{_base_.model}},
    aux_heads=[
        dict(source='backbone.layer1',
             head=dict(type='ResNetAuxClassifier', in_channels=16, num_classes=num_classes,
                       stages=[(32, 2, 2), (64, 1, 2), (128, 1, 2)])),
        dict(source='backbone.layer2',
             head=dict(type='ResNetAuxClassifier', in_channels=32, num_classes=num_classes,
                       stages=[(64, 2, 2), (128, 1, 2)])),
        dict(source='backbone.layer3',
             head=dict(type='ResNetAuxClassifier', in_channels=64, num_classes=num_classes,
                       stages=[(256, 2, 2)])),
    ])
