# Faster R-CNN + FPN, 1x schedule, with an OD-ResNet-50 4x backbone (ODConv object_detection README settings:
# frozen_stages=1, norm_eval=True (the attention BatchNorms too), K=4). Published: 39.4 box AP, 108.91M params.
# Convert the ImageNet checkpoint first: tools/model_converters/odconv2mmext.py.
_base_ = ['mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py']
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
