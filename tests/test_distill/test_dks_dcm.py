"""DKS and DCM: heads, loss terms against written-out references, gradients, export of either network."""
import copy

import pytest
import torch
from mmengine.registry import MODELS, init_default_scope

from tests.test_distill.helpers import aux_heads, cls_batch, loss_and_backward, params_without_grad, tiny_classifier


def _build(cfg):
    init_default_scope('mmpretrain')
    return MODELS.build(copy.deepcopy(cfg))


def _kl(p_logits, q_logits):
    """KL(softmax(p) || softmax(q)), batch mean, written out with probabilities (the official code's form)."""
    p, q = p_logits.softmax(1), q_logits.softmax(1)
    return (p * (p.log() - q.log())).sum(1).mean()


def test_pairwise_kl_matches_reference_and_counts_terms():
    from mmext.distill import PairwiseKLLoss
    torch.manual_seed(0)
    z = [torch.randn(4, 7) for _ in range(3)]
    ref = sum(_kl(z[j], z[i]) for i in range(3) for j in range(3) if i != j)  # 6 terms (DKS, 3 heads)
    assert torch.allclose(PairwiseKLLoss()(z), ref, rtol=1e-5)
    mask = torch.zeros(3, 3, dtype=torch.bool)
    mask[0, 2] = True
    assert torch.allclose(PairwiseKLLoss(loss_weight=0.5)(z, mask), 0.5 * _kl(z[2], z[0]), rtol=1e-5)
    # the target side is detached: only the learning head gets a gradient
    zs = [t.clone().requires_grad_() for t in z]
    PairwiseKLLoss()(zs, mask).backward()
    assert zs[0].grad is not None and zs[2].grad is None
    with pytest.raises(ValueError, match='mask must be 3x3'):
        PairwiseKLLoss()(z, torch.ones(2, 2, dtype=torch.bool))


def test_kl_loss_reference_temperature_and_dense():
    from mmext.distill import DistillKLDivLoss
    torch.manual_seed(0)
    s, t = torch.randn(3, 6), torch.randn(3, 6)
    assert torch.allclose(DistillKLDivLoss(tau=4.0)(s, t), 16 * _kl(t / 4, s / 4), rtol=1e-5)
    s4, t4 = torch.randn(2, 6, 3, 5), torch.randn(2, 6, 3, 5)
    ref = _kl(t4.permute(0, 2, 3, 1).reshape(-1, 6), s4.permute(0, 2, 3, 1).reshape(-1, 6))
    assert torch.allclose(DistillKLDivLoss()(s4, t4), ref, rtol=1e-5), 'dense KL is a per-pixel mean'
    with torch.autocast('cpu', dtype=torch.bfloat16):
        assert DistillKLDivLoss()(s.bfloat16(), t.bfloat16()).dtype == torch.float32


def test_aux_classifier_shapes_and_params():
    from mmext.distill import ResNetAuxClassifier
    head = ResNetAuxClassifier(64, [(128, 2, 2), (256, 1, 2)], num_classes=10)
    assert head(torch.randn(2, 64, 16, 16)).shape == (2, 10)
    bott = ResNetAuxClassifier(256, [(512, 1, 2)], num_classes=10, bottleneck=True)
    assert bott(torch.randn(1, 256, 8, 8)).shape == (1, 10)
    # basic block 64->128 (3x3 + 3x3 + 1x1 shortcut, each with BN): written-out count
    one = ResNetAuxClassifier(64, [(128, 1, 2)], num_classes=10)
    expect = 64 * 128 * 9 + 128 * 128 * 9 + 64 * 128 + 3 * 2 * 128 + 128 * 10 + 10
    assert sum(p.numel() for p in one.parameters()) == expect
    with pytest.raises(ValueError, match='stages'):
        ResNetAuxClassifier(64, [], num_classes=10)
    with pytest.raises(ValueError, match='out_channels, num_blocks, stride'):
        ResNetAuxClassifier(64, [(128, 0, 2)], num_classes=10)


def test_dks_losses_gradients_export():
    model = _build(dict(type='DKSDistiller', student=tiny_classifier(), aux_heads=aux_heads()))
    assert not model.has_teacher
    losses, _ = loss_and_backward(model, cls_batch())
    assert set(losses) == {'student.loss', 'aux.0.loss_ce', 'aux.1.loss_ce', 'aux.2.loss_ce',
                           'distill.loss_synergy'}
    assert all(torch.isfinite(v) for v in losses.values())
    assert params_without_grad(model) == []
    model.zero_grad()
    loss_and_backward(model, cls_batch(batch=1))
    exported = model.export_state_dict()
    init_default_scope('mmpretrain')
    plain = MODELS.build(tiny_classifier())
    plain.load_state_dict(exported, strict=True)
    with pytest.raises(ValueError, match='no teacher'):
        _build(dict(type='DKSDistiller', student=tiny_classifier(), aux_heads=aux_heads(),
                    teacher=tiny_classifier()))
    with pytest.raises(ValueError, match='at least one'):
        _build(dict(type='DKSDistiller', student=tiny_classifier(), aux_heads=[]))


def test_dks_synergy_equals_reference_on_recorded_logits():
    model = _build(dict(type='DKSDistiller', student=tiny_classifier(), aux_heads=aux_heads()))
    model.train()
    batch = model.data_preprocessor(cls_batch(), True)
    captured = {}
    orig = model.compute_losses

    def spy(inputs, data_samples):
        captured['logits'] = [z.detach() for z in model.aux.logits()]
        return orig(inputs, data_samples)

    model.compute_losses = spy
    losses = model(**batch, mode='loss')
    z = captured['logits']
    ref = sum(_kl(z[j], z[i]) for i in range(4) for j in range(4) if i != j)
    assert torch.allclose(losses['distill.loss_synergy'], ref, rtol=1e-4)


def test_dcm_cross_terms_gradients_and_export_either_network():
    peer = tiny_classifier(width=4)
    peer_aux = aux_heads(width=4)[1:]  # heterogeneous: 3 heads vs 4 heads
    model = _build(dict(type='DCMDistiller', student=tiny_classifier(), peer=peer, student_aux_heads=aux_heads(),
                        peer_aux_heads=peer_aux))
    assert int(model.cross_mask.sum()) == 2 * 4 * 3 and not model.cross_mask[:4, :4].any()
    losses, _ = loss_and_backward(model, cls_batch())
    assert {'student.loss', 'peer.loss', 'aux.student.2.loss_ce', 'aux.peer.1.loss_ce', 'distill.loss_dcm'} <= \
        set(losses)
    assert params_without_grad(model) == []
    init_default_scope('mmpretrain')
    for name, cfg in (('student', tiny_classifier()), ('peer', peer)):
        plain = MODELS.build(cfg)
        plain.load_state_dict(model.export_state_dict(name), strict=True)
    model.eval()
    with torch.no_grad():
        inputs = model.data_preprocessor(cls_batch(), False)['inputs']
        assert torch.equal(model(inputs, mode='tensor'), model.student(inputs, mode='tensor'))
    with pytest.raises(ValueError, match='peer'):
        _build(dict(type='DCMDistiller', student=tiny_classifier(), peer=peer, student_aux_heads=aux_heads(),
                    peer_aux_heads=peer_aux, teacher=tiny_classifier()))
