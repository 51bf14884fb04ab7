# Mask R-CNN + FPN, 1x, KW-ResNet-50 4x backbone. Published: 42.4 box / 38.9 mask AP.
_base_ = ['./mask-rcnn_kw-r50-1x_fpn_1x_coco.py']
model = dict(backbone=dict(cell_num_ratio=4, init_cfg=dict(checkpoint='checkpoints/kw4x_r50_mmext.pth')))
