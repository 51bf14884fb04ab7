# HBONet 1.0x on ImageNet-1k with the release's recipe (d-li14/mobilenetv2.pytorch, which d-li14/HBONet follows):
# batch 256 (8 x 32), SGD momentum 0.9, lr 0.05, wd 4e-5, cosine decay over 150 epochs, RandomResizedCrop 224 +
# flip; no label smoothing, no dropout. Published (release README): 305 MFLOPs, top-1 / top-5 73.1 / 91.0.
# Released weights: tools/model_converters/hbonet2mmext.py pretrained/hbonet_1_0.pth.
_base_ = ['mmpretrain::mobilenet_v2/mobilenet-v2_8xb32_in1k.py']
default_scope = 'mmpretrain'
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)

max_epochs = 150
model = dict(
    backbone=dict(_delete_=True, type='HBONet', widen_factor=1.0),
    head=dict(in_channels=1600))
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=4e-5))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=max_epochs, by_epoch=True, begin=0, end=max_epochs)]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
