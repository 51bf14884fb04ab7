# Faster R-CNN + FPN, 1x, KW-ResNet-50 1x backbone with the KernelWarehouse detection optimiser (AdamW lr 1e-4,
# wd 0.05, steps 8/11). The paper reports Mask R-CNN only; no published Faster R-CNN number.
_base_ = ['mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py']
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
