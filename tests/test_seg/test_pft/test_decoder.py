"""PFT decoder layer and decoder: parameter count written out, shapes, gradients, config errors."""
import pytest
import torch

from mmext.seg.pft import PFTTransformerDecoder, PFTTransformerDecoderLayer

C, FF, HEADS, S = 32, 64, 4, 3


def _layer_cfg(num_branches=S):
    attn = dict(embed_dims=C, num_heads=HEADS, attn_drop=0.0, proj_drop=0.0)
    return dict(num_branches=num_branches, self_attn_cfg=attn, cross_attn_cfg=attn, inter_attn_cfg=attn,
                ffn_cfg=dict(embed_dims=C, feedforward_channels=FF, num_fcs=2, ffn_drop=0.0))


def _inputs(b=2, n=4, sizes=(4, 16, 64)):
    g = torch.Generator().manual_seed(0)
    queries = [torch.randn(b, n, C, generator=g) for _ in sizes]
    query_pos = [torch.randn(b, n, C, generator=g) for _ in sizes]
    keys = [torch.randn(b, hw, C, generator=g) for hw in sizes]
    key_pos = [torch.randn(b, hw, C, generator=g) for hw in sizes]
    return queries, query_pos, keys, key_pos


def test_layer_parameter_count_written_out():
    attn = 4 * C * C + 4 * C  # q, k, v, out projections with biases
    ffn = C * FF + FF + FF * C + C
    norm = 2 * C
    per_branch = 2 * attn + ffn + 3 * norm  # self-attn, cross-attn, FFN and their post-norms
    expected = S * per_branch + attn + norm  # plus one inter-query attention with its norm
    layer = PFTTransformerDecoderLayer(**_layer_cfg())
    assert sum(p.numel() for p in layer.parameters()) == expected
    decoder = PFTTransformerDecoder(num_layers=2, layer_cfg=_layer_cfg())
    assert sum(p.numel() for p in decoder.parameters()) == 2 * expected + norm  # + shared post-norm


def test_decoder_outputs_every_layer_and_all_params_get_grads():
    decoder = PFTTransformerDecoder(num_layers=2, layer_cfg=_layer_cfg())
    outs = decoder(*_inputs())
    assert len(outs) == 2 and all(len(o) == S for o in outs)
    assert all(q.shape == (2, 4, C) for o in outs for q in o)
    sum(q.sum() for o in outs for q in o).backward()
    for name, p in decoder.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


def test_each_branch_attends_to_its_own_level():
    torch.manual_seed(0)
    layer = PFTTransformerDecoderLayer(**_layer_cfg()).eval()
    seen = []
    for s, attn in enumerate(layer.cross_attns):
        attn.register_forward_hook(lambda m, args, kwargs, out, s=s: seen.append((s, kwargs['key'].shape[1])),
                                   with_kwargs=True)
    layer(*_inputs())
    assert seen == [(0, 4), (1, 16), (2, 64)]


def test_config_errors_are_clear():
    with pytest.raises(ValueError, match='num_branches'):
        PFTTransformerDecoderLayer(**_layer_cfg(num_branches=0))
    bad = _layer_cfg()
    bad['ffn_cfg'] = dict(bad['ffn_cfg'], embed_dims=C * 2)
    with pytest.raises(ValueError, match='embed_dims'):
        PFTTransformerDecoderLayer(**bad)
    with pytest.raises(ValueError, match='num_layers'):
        PFTTransformerDecoder(num_layers=0, layer_cfg=_layer_cfg())
    layer = PFTTransformerDecoderLayer(**_layer_cfg())
    q, qp, k, kp = _inputs()
    with pytest.raises(ValueError, match='keys must hold num_branches=3'):
        layer(q, qp, k[:2], kp)
