# Faster R-CNN + FPN, 1x schedule (12 epochs, SGD lr 0.02 for 16 images, steps at 8 and 11), COCO, with a PS-
# ResNet-50 backbone: every bottleneck 3x3 is a PSConv (dilation 2, parts 4), frozen_stages=1, BN frozen
# (norm_eval), as in d-li14/PSConv configs/psconv/. Published (release README, 8 GPUs x 2 images): 38.4 box AP.
# Convert the ImageNet backbone first: tools/model_converters/psconv2mmext.py (checkpoints/ps_r50_mmext.pth).
# Difference from the release's mmdet v0.6 schedule: mmdet 3.x warm-up (500 iterations from 0.001 x lr, not 1/3).
_base_ = ['mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py']
default_scope = 'mmdet'
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        _delete_=True,
        type='PSResNet',
        depth=50,
        out_indices=(0, 1, 2, 3),
        frozen_stages=1,
        norm_eval=True,
        init_cfg=dict(type='Pretrained', checkpoint='checkpoints/ps_r50_mmext.pth', prefix='backbone.')))
