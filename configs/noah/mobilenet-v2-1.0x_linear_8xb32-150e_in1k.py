# MobileNetV2 x1.0 + GAP + LinearClsHead: the baseline paired with mobilenet-v2-1.0x_noah_8xb32-150e_in1k.py.
# The paper's MobileNetV2 recipe: 150 epochs, SGD lr 0.05 (batch 256) with cosine decay, wd 4e-5.
_base_ = ['mmpretrain::mobilenet_v2/mobilenet-v2_8xb32_in1k.py']
default_scope = 'mmpretrain'
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)

max_epochs = 150
model = dict(backbone=dict(widen_factor=1.0))
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=4e-5))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=max_epochs, by_epoch=True, begin=0, end=max_epochs)]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
