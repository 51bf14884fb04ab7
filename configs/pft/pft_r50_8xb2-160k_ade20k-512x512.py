# PFT (Pyramid Fusion Transformer, arXiv 2201.04019) with ResNet-50 on ADE20K, 160k iterations, 8x2 images,
# crop 512. Data pipeline, optimizer (AdamW 1e-4, wd 0.05, backbone lr x0.1, grad clip 0.01), poly schedule and
# losses are mmseg's Mask2Former R50 recipe; the decoder is PFT's: one 100-query set per level (1/32, 1/16, 1/8),
# 6 layers of in-branch self-attention, per-level cross-attention, cross-scale inter-query attention and FFN.
# The paper's exact decoder depth and loss weights could not be verified (see README.md).
_base_ = ['mmseg::mask2former/mask2former_r50_8xb2-160k_ade20k-512x512.py']
default_scope = 'mmseg'
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)

embed_dims = 256
attn_cfg = dict(embed_dims=embed_dims, num_heads=8, attn_drop=0.0, proj_drop=0.0)
model = dict(
    decode_head=dict(
        type='PFTHead',
        num_queries=100,
        num_transformer_feat_level=3,
        transformer_decoder=dict(
            _delete_=True,
            num_layers=6,
            layer_cfg=dict(
                num_branches=3,
                self_attn_cfg=attn_cfg,
                cross_attn_cfg=attn_cfg,
                inter_attn_cfg=attn_cfg,
                ffn_cfg=dict(embed_dims=embed_dims, feedforward_channels=2048, num_fcs=2, ffn_drop=0.0,
                             act_cfg=dict(type='ReLU', inplace=True))))))
