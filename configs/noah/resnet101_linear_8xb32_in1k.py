# ResNet-101 + GAP + LinearClsHead: the baseline paired with resnet101_noah_8xb32_in1k.py (paper's ResNet recipe:
# SGD lr 0.1, wd 1e-4, 100 epochs, steps 30/60/90 = mmpretrain's ImageNet recipe).
_base_ = ['mmpretrain::resnet/resnet101_8xb32_in1k.py']
default_scope = 'mmpretrain'
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)
