"""CrossScaleInterQueryAttention against a written-out reference, and its structure (mixing only equal indices)."""
import pytest
import torch
import torch.nn.functional as F

from mmext.seg.pft import CrossScaleInterQueryAttention

C, HEADS = 16, 2


def _reference(module, queries, pos):
    """Per (image, query index): multi-head attention over the S branch tokens, residual, LayerNorm."""
    mha = module.attn.attn  # torch.nn.MultiheadAttention inside mmcv's wrapper
    w_q, w_k, w_v = mha.in_proj_weight.split(C)
    b_q, b_k, b_v = mha.in_proj_bias.split(C)
    head_dim = C // HEADS
    b, n, _ = queries[0].shape
    out = torch.empty(len(queries), b, n, C)
    for i in range(b):
        for j in range(n):
            x = torch.stack([q[i, j] for q in queries])  # (S, C)
            p = torch.stack([t[i, j] for t in pos])
            qh = ((x + p) @ w_q.T + b_q).view(-1, HEADS, head_dim).transpose(0, 1)
            kh = ((x + p) @ w_k.T + b_k).view(-1, HEADS, head_dim).transpose(0, 1)
            vh = (x @ w_v.T + b_v).view(-1, HEADS, head_dim).transpose(0, 1)
            att = torch.softmax(qh @ kh.transpose(1, 2) / head_dim**0.5, dim=-1) @ vh  # (H, S, d)
            y = att.transpose(0, 1).reshape(-1, C) @ mha.out_proj.weight.T + mha.out_proj.bias
            out[:, i, j] = F.layer_norm(x + y, (C, ), module.norm.weight, module.norm.bias, module.norm.eps)
    return list(out.unbind(0))


def _inputs(num_branches=3, b=2, n=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    queries = [torch.randn(b, n, C, generator=g) for _ in range(num_branches)]
    pos = [torch.randn(b, n, C, generator=g) for _ in range(num_branches)]
    return queries, pos


def test_matches_written_out_reference():
    torch.manual_seed(0)
    module = CrossScaleInterQueryAttention(dict(embed_dims=C, num_heads=HEADS)).eval()
    torch.nn.init.normal_(module.norm.weight)
    torch.nn.init.normal_(module.norm.bias)
    queries, pos = _inputs()
    out = module(queries, pos)
    ref = _reference(module, queries, pos)
    assert len(out) == 3
    for o, r in zip(out, ref):
        assert o.shape == (2, 5, C)
        torch.testing.assert_close(o, r, rtol=1e-5, atol=1e-5)


def test_mixes_equal_query_index_across_branches_only():
    torch.manual_seed(0)
    module = CrossScaleInterQueryAttention(dict(embed_dims=C, num_heads=HEADS)).eval()
    queries, pos = _inputs()
    base = module(queries, pos)
    changed = [q.clone() for q in queries]
    changed[0][1, 2] += 1.0  # branch 0, image 1, query 2
    out = module(changed, pos)
    for s in range(3):
        diff = (out[s] - base[s]).abs().sum(-1)  # (B, N)
        assert diff[1, 2] > 1e-4, f'branch {s} did not see the change in branch 0'
        diff[1, 2] = 0
        assert diff.max() < 1e-6, f'branch {s} changed at another (image, query index)'


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match='attn_cfg'):
        CrossScaleInterQueryAttention(dict(num_heads=2))
    module = CrossScaleInterQueryAttention(dict(embed_dims=C, num_heads=HEADS))
    with pytest.raises(ValueError, match='same'):
        module([torch.zeros(1, 4, C), torch.zeros(1, 5, C)])
