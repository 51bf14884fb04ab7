# Mask R-CNN + FPN, 1x, KW-ConvNeXt-Tiny 1x backbone (per-stage LayerNorm outputs). The released run used
# lr steps at 9/11 and layer-wise lr decay 0.95 (not reproduced here). Published: 44.7 box / 40.6 mask AP.
_base_ = ['./mask-rcnn_kw-r50-1x_fpn_1x_coco.py']
model = dict(
    backbone=dict(
        _delete_=True,
        type='KWConvNeXt',
        arch='tiny',
        drop_path_rate=0.3,
        out_indices=(0, 1, 2, 3),
        gap_before_final_norm=False,
        init_cfg=dict(type='Pretrained', checkpoint='checkpoints/kw1x_convnext_tiny_mmext.pth',
                      prefix='backbone.')),
    neck=dict(in_channels=[96, 192, 384, 768]))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=12, by_epoch=True, milestones=[9, 11], gamma=0.1)
]
