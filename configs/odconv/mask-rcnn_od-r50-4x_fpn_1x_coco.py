# Mask R-CNN + FPN, 1x schedule, OD-ResNet-50 4x backbone (frozen_stages=1, norm_eval=True).
# Published: 40.2 box AP / 36.1 mask AP, 111.56M params.
_base_ = ['mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py']
default_scope = 'mmdet'
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        _delete_=True,
        type='ODResNet',
        depth=50,
        kernel_num=4,
        out_indices=(0, 1, 2, 3),
        frozen_stages=1,
        norm_eval=True,
        init_cfg=dict(type='Pretrained', checkpoint='checkpoints/od_r50_4x_mmext.pth', prefix='backbone.')))
