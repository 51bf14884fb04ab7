# DCM, ImageNet ResNet-18 | ResNet-18 trained mutually from scratch. The paper's ImageNet numbers are not in the
# released README (unverified here); its released recipes are CIFAR-100 WRN pairs, which need a WRN backbone
# mmext does not ship yet. Auxiliary branches as in configs/dks/dks_r18_8xb32-100e_in1k.py.
_base_ = [
    'mmpretrain::_base_/models/resnet18.py',
    'mmpretrain::_base_/datasets/imagenet_bs32.py',
    'mmpretrain::_base_/schedules/imagenet_bs256.py',
    'mmpretrain::_base_/default_runtime.py',
]
default_scope = 'mmpretrain'
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)

num_classes = 1000
aux_heads = [
    dict(source='backbone.layer1',
         head=dict(type='ResNetAuxClassifier', in_channels=64, num_classes=num_classes,
                   stages=[(128, 2, 2), (256, 1, 2), (512, 1, 2)])),
    dict(source='backbone.layer2',
         head=dict(type='ResNetAuxClassifier', in_channels=128, num_classes=num_classes,
                   stages=[(256, 2, 2), (512, 1, 2)])),
    dict(source='backbone.layer3',
         head=dict(type='ResNetAuxClassifier', in_channels=256, num_classes=num_classes,
                   stages=[(1024, 2, 2)])),
]
model = dict(
    _delete_=True,
    type='DCMDistiller',
    student={{_base_.model}},
    peer={{_base_.model}},
    student_aux_heads=aux_heads,
    peer_aux_heads=aux_heads)
