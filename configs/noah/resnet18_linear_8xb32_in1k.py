# ResNet-18 + GAP + LinearClsHead: the baseline paired with resnet18_noah_8xb32_in1k.py. mmpretrain's ImageNet
# recipe is the paper's ResNet recipe: SGD lr 0.1 (batch 256), wd 1e-4, 100 epochs, lr x0.1 at 30/60/90.
_base_ = ['mmpretrain::resnet/resnet18_8xb32_in1k.py']
default_scope = 'mmpretrain'
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)
