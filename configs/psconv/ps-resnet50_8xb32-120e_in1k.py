# PS-ResNet-50 on ImageNet-1k. The release has no ImageNet training code; the recipe is the paper's as quoted in
# d-li14/PSConv issue #8: SGD momentum 0.9, lr 0.1 for batch 256, wd 1e-4, 120 epochs, cosine ("half-cosine")
# decay; standard RandomResizedCrop 224 + flip (mmpretrain's ResNet pipeline). The paper's ImageNet table was not
# retrieved (shared/docs/references/backbones.md 3.2). Released weights: tools/model_converters/psconv2mmext.py.
_base_ = ['mmpretrain::resnet/resnet50_8xb32_in1k.py']
default_scope = 'mmpretrain'
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)

max_epochs = 120
model = dict(backbone=dict(_delete_=True, type='PSResNet', depth=50, out_indices=(3, )))
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=max_epochs, by_epoch=True, begin=0, end=max_epochs)]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
