# DeepLabV3-R18 on Pascal VOC 2012 aug alone with Af-DCD's training recipe (the baseline of the distillation config of
# the same student):
# batch 16 (8 GPUs x 2), SGD lr 0.02, momentum 0.9, wd 1e-4, poly lr (power 0.9, to 0), 40k iterations,
# 512x512 crops, SyncBN, ImageNet-pretrained backbone (the release's train_scripts/ and train_ocmgd.py defaults).
_base_ = ['mmseg::deeplabv3/deeplabv3_r50-d8_4xb4-40k_voc12aug-512x512.py']
default_scope = 'mmseg'
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)

model = dict(
    pretrained='open-mmlab://resnet18_v1c',
    backbone=dict(depth=18),
    decode_head=dict(in_channels=512, channels=128),
    auxiliary_head=dict(in_channels=256, channels=64))
train_dataloader = dict(batch_size=2)
optim_wrapper = dict(_delete_=True, type='OptimWrapper',
                     optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=1e-4), clip_grad=None)
param_scheduler = [dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=40000, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=40000, val_interval=4000)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=4000, max_keep_ckpts=2))
