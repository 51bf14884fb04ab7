# UPerNet on ADE20K (mmseg's upernet_r50 recipe) with a KW-ResNet-50 1x backbone. Not in the paper.
_base_ = ['mmseg::upernet/upernet_r50_4xb4-160k_ade20k-512x512.py']
default_scope = 'mmseg'
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)

model = dict(
    pretrained=None,
    backbone=dict(
        _delete_=True,
        type='KWResNet',
        depth=50,
        cell_num_ratio=1,
        out_indices=(0, 1, 2, 3),
        norm_eval=False,
        init_cfg=dict(type='Pretrained', checkpoint='checkpoints/kw1x_r50_mmext.pth', prefix='backbone.')))
