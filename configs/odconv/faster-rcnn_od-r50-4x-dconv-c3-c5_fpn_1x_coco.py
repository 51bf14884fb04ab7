# Faster R-CNN + FPN with OD-ResNet-50 4x and deformable 3x3 convs in stages 2-4 (mmdet's dconv-c3-c5 setting):
# the deformable conv keeps the per-sample ODConv kernel (mmcv modulated deformable conv grouped over the batch).
# Not in the paper; no published number.
_base_ = ['./faster-rcnn_od-r50-4x_fpn_1x_coco.py']
model = dict(
    backbone=dict(dcn=dict(type='DCNv2', deform_groups=1, fallback_on_stride=False),
                  stage_with_dcn=(False, True, True, True)))
