# Mask R-CNN + FPN, 1x (12 epochs), with a KW-ResNet-50 1x backbone, the KernelWarehouse detection settings:
# AdamW lr 1e-4, wd 0.05, lr steps at epochs 8 and 11, frozen_stages=1, norm_eval=True; tau = 0 (inference value,
# the ImageNet model is already annealed). The released runs also used DETR-style multi-scale AutoAugment
# (480-800 x 1333); this config keeps mmdet's single-scale pipeline. Published: 41.8 box / 38.4 mask AP.
_base_ = ['mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py']
default_scope = 'mmdet'
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        _delete_=True,
        type='KWResNet',
        depth=50,
        cell_num_ratio=1,
        out_indices=(0, 1, 2, 3),
        frozen_stages=1,
        norm_eval=True,
        init_cfg=dict(type='Pretrained', checkpoint='checkpoints/kw1x_r50_mmext.pth', prefix='backbone.')))
optim_wrapper = dict(_delete_=True, type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-4, weight_decay=0.05))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=12, by_epoch=True, milestones=[8, 11], gamma=0.1)
]
