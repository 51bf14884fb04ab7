# Mask R-CNN + FPN, 1x, KW-MobileNetV2 x1.0 1x backbone (KernelWarehouse detection optimiser).
# Published: 36.4 box / 33.7 mask AP.
_base_ = ['./mask-rcnn_kw-r50-1x_fpn_1x_coco.py']
model = dict(
    backbone=dict(
        _delete_=True,
        type='KWMobileNetV2',
        widen_factor=1.0,
        cell_num_ratio=1,
        out_indices=(1, 2, 4, 7),
        frozen_stages=1,
        norm_eval=True,
        init_cfg=dict(type='Pretrained', checkpoint='checkpoints/kw1x_mbv2_mmext.pth', prefix='backbone.')),
    neck=dict(in_channels=[24, 32, 96, 1280]))
