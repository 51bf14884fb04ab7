# OD-ResNet-18 1x on ImageNet with the ODConv paper's ResNet recipe (mmpretrain's imagenet_bs256 schedule):
# 100 epochs, SGD momentum 0.9, lr 0.1 for batch 256 (8 GPUs x 32), wd 1e-4, lr x0.1 at epochs 30/60/90,
# RandomResizedCrop 224 + flip; temperature 30 -> 1 linearly over the first 10 epochs, per iteration.
# Published (OSVAI/ODConv README): 11.94M params, 73.05 top-1. Note: the released classifier has dropout before
# the fc (0.1; 0.2 for OD-R18 4x), which mmpretrain's LinearClsHead does not have.
_base_ = ['mmpretrain::resnet/resnet18_8xb32_in1k.py']
default_scope = 'mmpretrain'
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)

model = dict(backbone=dict(_delete_=True, type='ODResNet', depth=18, kernel_num=1, reduction=0.0625,
                           out_indices=(3, )))
custom_hooks = [dict(type='ODConvTemperatureHook', temp_init=30.0, temp_final=1.0, temp_epochs=10)]
