# Semantic FPN on ADE20K, 160k iterations (mmseg's fpn_r50 recipe) with an OD-ResNet-50 4x backbone. Not in the paper.
_base_ = ['mmseg::sem_fpn/fpn_r50_4xb4-160k_ade20k-512x512.py']
default_scope = 'mmseg'
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)

model = dict(
    pretrained=None,
    backbone=dict(
        _delete_=True,
        type='ODResNet',
        depth=50,
        kernel_num=4,
        out_indices=(0, 1, 2, 3),
        norm_eval=False,
        init_cfg=dict(type='Pretrained', checkpoint='checkpoints/od_r50_4x_mmext.pth', prefix='backbone.')))
