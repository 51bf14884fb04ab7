# DKS on CIFAR-100, WRN-28-10 (n = 4 blocks per group, k = 10): top-1 error 18.72 -> 17.24 +- 0.22 in the paper
# (5 runs; 18.64 -> 16.71 with dropout 0.3). The baseline's model, data and schedule
# (wrn28-10_1xb128-200e_cifar100.py) with the released code's two auxiliary branches (distill.md §1.2):
#   ep1 after group0 (backbone.layer1, 160 ch): a copy of group1 (320 ch, n blocks, stride 2), group2 with n // 2
#       blocks (640 ch, stride 2), BN-ReLU, average pooling, FC;
#   ep2 after group1 (backbone.layer2, 320 ch): group2 at double width (1280 ch, n blocks, stride 2), BN-ReLU,
#       average pooling, FC.
# CE on the 3 heads + the synergy KL between every ordered pair (6 terms), all weights 1, temperature 1.
# Dropout run (paper: 16.71): drop_rate=0.3 on the backbone and both heads (the released code shares one block
# function), e.g. --cfg-options model.student.backbone.drop_rate=0.3 model.aux_heads.0.head.drop_rate=0.3
# model.aux_heads.1.head.drop_rate=0.3
_base_ = ['./wrn28-10_1xb128-200e_cifar100.py']

num_classes = 100
model = dict(
    _delete_=True,
    type='DKSDistiller',
    student={{_base_.model}},
    aux_heads=[
        dict(source='backbone.layer1',
             head=dict(type='ResNetAuxClassifier', preact=True, in_channels=160, num_classes=num_classes,
                       stages=[(320, 4, 2), (640, 2, 2)])),
        dict(source='backbone.layer2',
             head=dict(type='ResNetAuxClassifier', preact=True, in_channels=320, num_classes=num_classes,
                       stages=[(1280, 4, 2)])),
    ])
