# DCM on CIFAR-100, WRN-28-10 | WRN-28-10 trained together from scratch: top-1 error 18.72 | 18.72 (alone) ->
# 16.61 | 16.65 in the paper (5 runs; DML 17.89 | 17.95). The DKS baseline's model, data and schedule
# (../dks/wrn28-10_1xb128-200e_cifar100.py: 200 epochs, batch 128, SGD 0.1, wd 5e-4, x0.2 at 60/120/160), each
# network with the DKS WRN branches (ep1 after group0, ep2 after group1, see ../dks/dks_wrn28-10_1xb128-200e_
# cifar100.py), CE on all 6 heads and the 18 cross-network KL terms, weights 1, temperature 1. One optimizer
# trains both; validation evaluates network 1; export either with tools/model_converters/export_student.py.
_base_ = ['../dks/wrn28-10_1xb128-200e_cifar100.py']

num_classes = 100
aux_heads = [
    dict(source='backbone.layer1',
         head=dict(type='ResNetAuxClassifier', preact=True, in_channels=160, num_classes=num_classes,
                   stages=[(320, 4, 2), (640, 2, 2)])),
    dict(source='backbone.layer2',
         head=dict(type='ResNetAuxClassifier', preact=True, in_channels=320, num_classes=num_classes,
                   stages=[(1280, 4, 2)])),
]
model = dict(
    _delete_=True,
    type='DCMDistiller',
    student={{_base_.model}},
    peer={{_base_.model}},
    student_aux_heads=aux_heads,
    peer_aux_heads=aux_heads)
