"""The Af-DCD and ScaleKD losses and projectors against written-out references on small tensors."""
import math

import pytest
import torch
import torch.nn.functional as F

from mmext.distill import (CrossAttentionProjector, DCTHighPassMSELoss, DistillMSELoss, MaskedFeatureProjector,
                           OmniContrastiveLoss, SoftCrossEntropyKDLoss)
from mmext.distill.losses.dct_highpass_mse_loss import dct_matrix


def _omni_reference(s, t, tau, m, patch):
    """Token by token: positive = same position and group, negatives = every other group at every position."""
    b, c, h, w = s.shape
    ph, pw = patch
    cg = c // m
    total = 0.0
    for n in range(b):
        for i in range(h // ph):
            for j in range(w // pw):
                def tok(x, pos, g):
                    py, px = divmod(pos, pw)
                    return x[n, g * cg:(g + 1) * cg, i * ph + py, j * pw + px]
                for pos in range(ph * pw):
                    for g in range(m):
                        q = tok(s, pos, g)
                        logits = [-(q - tok(t, pos, g)).abs().sum()]
                        logits += [-(q - tok(t, p2, g2)).abs().sum() for p2 in range(ph * pw)
                                   for g2 in range(m) if g2 != g]
                        logits = torch.stack(logits) / tau
                        total = total - torch.log_softmax(logits, 0)[0]
    return total / (h * w) / b


def test_omni_contrastive_loss_matches_token_by_token_reference():
    torch.manual_seed(0)
    s, t = torch.randn(2, 8, 8, 4, dtype=torch.float64), torch.randn(2, 8, 8, 4, dtype=torch.float64)
    loss = OmniContrastiveLoss(tau=0.5, num_groups=4, patch_size=(2, 2), pool_size=2, loss_weight=1.0)
    ref = _omni_reference(F.max_pool2d(s, 2), F.max_pool2d(t, 2), 0.5, 4, (2, 2))
    assert torch.allclose(loss(s.float(), t.float()).double(), ref, rtol=1e-5)
    # no pooling, non-square patch, a weight; the teacher side gets no gradient
    s.requires_grad_(True)
    t.requires_grad_(True)
    loss = OmniContrastiveLoss(tau=0.07, num_groups=2, patch_size=(2, 1), pool_size=0, loss_weight=3.0)
    out = loss(s, t)
    assert torch.allclose(out.double(), 3.0 * _omni_reference(s.detach(), t.detach(), 0.07, 2, (2, 1)), rtol=1e-5)
    out.backward()
    assert s.grad is not None and t.grad is None
    # crop instead of pooling (the release's CamVid path)
    crop = OmniContrastiveLoss(tau=0.5, num_groups=4, patch_size=(2, 2), crop_size=(4, 2))
    ref = _omni_reference(s.detach()[:, :, :4, :2], t.detach()[:, :, :4, :2], 0.5, 4, (2, 2))
    assert torch.allclose(crop(s.detach(), t.detach()).double(), ref, rtol=1e-5)
    with pytest.raises(ValueError, match='divisible'):
        OmniContrastiveLoss(num_groups=3, pool_size=0, patch_size=(2, 2))(s.detach(), t.detach())
    with pytest.raises(ValueError, match='num_groups'):
        OmniContrastiveLoss(num_groups=1)


def test_omni_contrastive_perfect_match_is_lowest():
    torch.manual_seed(1)
    t = torch.randn(1, 16, 8, 8)
    loss = OmniContrastiveLoss(num_groups=4, patch_size=(4, 4), pool_size=2)
    assert loss(t, t) < loss(torch.randn_like(t), t)


def test_batch_sum_mse_is_mgd_and_scalekd_spatial_form():
    torch.manual_seed(0)
    s, t = torch.randn(3, 4, 5, 5), torch.randn(3, 4, 5, 5)
    assert torch.allclose(DistillMSELoss(reduction='batch_sum', loss_weight=2e-6)(s, t),
                          2e-6 * ((s - t)**2).sum() / 3)
    ns, nt = s / s.norm(dim=1, keepdim=True), t / t.norm(dim=1, keepdim=True)
    assert torch.allclose(DistillMSELoss(normalize=True, reduction='batch_sum', loss_weight=0.08)(s, t),
                          0.08 * ((ns - nt)**2).sum() / 3, rtol=1e-5)
    assert torch.allclose(DistillMSELoss()(s, t), ((s - t)**2).mean())  # the default is unchanged
    with pytest.raises(ValueError, match='reduction'):
        DistillMSELoss(reduction='sum')


def test_dct_matrix_is_the_written_out_dct_ii():
    n = 5
    d = dct_matrix(n, dtype=torch.float64)
    x = torch.randn(n, dtype=torch.float64)
    ref = torch.stack([sum(x[i] * math.cos(math.pi * (2 * i + 1) * k / (2 * n)) for i in range(n)) *
                       math.sqrt((1 if k == 0 else 2) / n) for k in range(n)])
    assert torch.allclose(d @ x, ref)
    assert torch.allclose(d @ d.t(), torch.eye(n, dtype=torch.float64), atol=1e-12)


def test_dct_high_pass_loss_removes_the_spatial_mean():
    torch.manual_seed(0)
    s, t = torch.randn(2, 6, 4, 7), torch.randn(2, 6, 4, 7)
    hp = DCTHighPassMSELoss.high_pass(s)
    assert torch.allclose(hp, s - s.mean(dim=(2, 3), keepdim=True), atol=1e-5)

    def n(x):
        x = x - x.mean(dim=(2, 3), keepdim=True)
        return x / x.norm(dim=1, keepdim=True)

    ref = 0.06 * ((n(s) - n(t))**2).sum() / 2
    assert torch.allclose(DCTHighPassMSELoss()(s, t), ref, rtol=1e-4)
    # a constant offset per channel (the DC term) changes nothing
    assert torch.allclose(DCTHighPassMSELoss()(s + torch.randn(1, 6, 1, 1), t), ref, rtol=1e-4)


def test_soft_ce_kd_matches_formula_and_stays_finite_where_the_release_form_is_nan():
    torch.manual_seed(0)
    s, t = torch.randn(4, 10), torch.randn(4, 10)
    for tau in (1.0, 4.0):
        ref = -0.5 * tau**2 * (F.softmax(t / tau, 1) * torch.log(F.softmax(s / tau, 1))).sum(1).mean()
        assert torch.allclose(SoftCrossEntropyKDLoss(tau=tau, loss_weight=0.5)(s, t), ref, rtol=1e-5)
    # an over-confident student: softmax underflows to 0 and log(0) * p_t = -inf (NaN where p_t is 0 too)
    s = torch.tensor([[200.0, -200.0, 0.0]])
    t = torch.tensor([[-200.0, 200.0, 0.0]])
    release = -0.5 * (F.softmax(t, 1) * torch.log(F.softmax(s, 1))).sum(1).mean()
    assert not torch.isfinite(release)
    ours = SoftCrossEntropyKDLoss()(s.requires_grad_(), t)
    assert torch.isfinite(ours) and ours.item() == pytest.approx(0.5 * 400.0, rel=1e-4)
    ours.backward()
    assert torch.isfinite(s.grad).all()


def test_masked_feature_projector_mask_and_paths():
    torch.manual_seed(0)
    p = MaskedFeatureProjector(4, 8, mask_ratio=0.75)
    x = torch.randn(2, 4, 40, 40)
    mask = p.make_mask(x)
    assert mask.shape == (2, 1, 40, 40) and abs(1 - mask.mean().item() - 0.75) < 0.05
    ref = p.projector(p.align(x) * mask)
    assert torch.allclose(p(x, mask), ref)
    central = MaskedFeatureProjector(8, 8, random_mask=False)
    assert isinstance(central.align, torch.nn.Identity)
    m = central.make_mask(torch.zeros(1, 8, 9, 9))
    assert m[0, 0, 3:6, 3:6].sum() == 0 and m.sum() == 81 - 9
    enh = MaskedFeatureProjector(4, 8, enhanced=True)
    y = enh.align(x) * mask
    x1 = enh.block1(y)
    assert torch.allclose(enh(x, mask), (enh.adaptor1(x1) + enh.adaptor2(enh.block2(x1))) / 2)
    with pytest.raises(ValueError, match='in_channels=4'):
        p(torch.randn(1, 5, 8, 8))


def test_cross_attention_projector_matches_written_out_attention():
    torch.manual_seed(0)
    cap = CrossAttentionProjector(6, 8, student_hw=(2, 3), query_hw=(3, 3), num_heads=2, softmax_scale=5.0)
    cap.eval()
    x = torch.randn(2, 6, 2, 3)
    out = cap(x)
    assert out.shape == (2, 9, 8)
    # reference
    kv = (cap.proj_student(x) + cap.pos_embed).flatten(2).transpose(1, 2)  # (2, 6, 6)
    qmap = cap.query.weight.t().reshape(1, 8, 3, 3).expand(2, -1, -1, -1)
    qt = cap.proj_query(qmap).flatten(2).transpose(1, 2)  # (2, 9, 8)
    heads = []
    for h in range(2):
        sl = slice(4 * h, 4 * h + 4)
        q = qt @ cap.q.weight[sl].t() + cap.q.bias[sl]
        k = kv @ cap.k.weight[sl].t() + cap.k.bias[sl]
        v = kv @ cap.v.weight[sl].t() + cap.v.bias[sl]
        a = torch.softmax(q @ k.transpose(1, 2) * 4**-0.5 * 5.0, dim=-1)
        heads.append(a @ v)
    y = cap.proj(torch.cat(heads, dim=-1))
    z = cap.norm(y)
    ffn = cap.ffn.layers
    ref = z + ffn[1](ffn[0](z))  # mmcv FFN: Linear-ReLU(-Dropout), Linear(-Dropout), identity added
    assert torch.allclose(out, ref, atol=1e-5)
    # given queries (stage 4), with a clear error on a wrong shape
    given = CrossAttentionProjector(6, 8, student_hw=(2, 3), query_hw=(3, 3), num_heads=2, self_query=False)
    assert given(x, query=torch.randn(2, 9, 8)).shape == (2, 9, 8)
    with pytest.raises(ValueError, match='query must be'):
        given(x, query=torch.randn(2, 4, 8))
    with pytest.raises(ValueError, match='needs a `query`'):
        given(x)
    with pytest.raises(ValueError, match='student_hw'):
        cap(torch.randn(2, 6, 4, 4))
