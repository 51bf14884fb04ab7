# ResNet-18 + GAP + LinearClsHead on Shapes crops (64x64, 5 classes), trained from scratch on the CPU: the baseline
# paired with resnet18_noah_1xb32-20e_shapes-cls.py (the quickstart config, unchanged).
_base_ = ['../quickstart/resnet18_1xb32-20e_shapes-cls.py']
default_scope = 'mmpretrain'
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)
