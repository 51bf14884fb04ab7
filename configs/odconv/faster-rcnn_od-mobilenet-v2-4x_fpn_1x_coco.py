# Faster R-CNN + FPN, 1x schedule, with an OD-MobileNetV2 x1.0 4x backbone (frozen_stages=1, norm_eval=True).
# Published: 35.5 box AP, 29.14M params. FPN inputs: groups 1, 2, 4 and the final 1x1 conv (24, 32, 96, 1280).
_base_ = ['mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py']
default_scope = 'mmdet'
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        _delete_=True,
        type='ODMobileNetV2',
        widen_factor=1.0,
        kernel_num=4,
        out_indices=(1, 2, 4, 7),
        frozen_stages=1,
        norm_eval=True,
        init_cfg=dict(type='Pretrained', checkpoint='checkpoints/od_mbv2_4x_mmext.pth', prefix='backbone.')),
    neck=dict(in_channels=[24, 32, 96, 1280]))
