# DKS, ImageNet ResNet-18: top-1 error 31.06 -> 28.68 in the paper. The ImageNet branch placement is not in the
# public code; these branches follow the released WRN design (a branch copies the next stage, then the rest with
# half the blocks; the deepest branch is the last stage at double width). Standard mmpretrain ResNet-18 recipe.
_base_ = [
    'mmpretrain::_base_/models/resnet18.py',
    'mmpretrain::_base_/datasets/imagenet_bs32.py',
    'mmpretrain::_base_/schedules/imagenet_bs256.py',
    'mmpretrain::_base_/default_runtime.py',
]
default_scope = 'mmpretrain'
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)

num_classes = 1000
model = dict(
    _delete_=True,
    type='DKSDistiller',
    student={{_base_.model}},
    aux_heads=[
        dict(source='backbone.layer1',
             head=dict(type='ResNetAuxClassifier', in_channels=64, num_classes=num_classes,
                       stages=[(128, 2, 2), (256, 1, 2), (512, 1, 2)])),
        dict(source='backbone.layer2',
             head=dict(type='ResNetAuxClassifier', in_channels=128, num_classes=num_classes,
                       stages=[(256, 2, 2), (512, 1, 2)])),
        dict(source='backbone.layer3',
             head=dict(type='ResNetAuxClassifier', in_channels=256, num_classes=num_classes,
                       stages=[(1024, 2, 2)])),
    ])
