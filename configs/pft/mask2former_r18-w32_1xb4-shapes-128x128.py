# Baseline for PFT on Shapes: mmseg's Mask2FormerHead with the same backbone, pixel decoder, widths, queries,
# losses and schedule as pft_r18-w32_1xb4-shapes-128x128.py. Mask2Former's decoder cycles over the 3 levels one
# per layer (with masked attention), so 6 layers (two rounds) are used against PFT's 3 (each touching all 3).
_base_ = ['./pft_r18-w32_1xb4-shapes-128x128.py']

embed_dims = 64
model = dict(
    decode_head=dict(
        type='Mask2FormerHead',
        num_queries=10,
        transformer_decoder=dict(
            _delete_=True,
            return_intermediate=True,
            num_layers=6,
            layer_cfg=dict(
                self_attn_cfg=dict(
                    embed_dims=embed_dims, num_heads=4, attn_drop=0.0, proj_drop=0.0, dropout_layer=None,
                    batch_first=True),
                cross_attn_cfg=dict(
                    embed_dims=embed_dims, num_heads=4, attn_drop=0.0, proj_drop=0.0, dropout_layer=None,
                    batch_first=True),
                ffn_cfg=dict(
                    embed_dims=embed_dims, feedforward_channels=256, num_fcs=2,
                    act_cfg=dict(type='ReLU', inplace=True), ffn_drop=0.0, dropout_layer=None,
                    add_identity=True)),
            init_cfg=None)))
