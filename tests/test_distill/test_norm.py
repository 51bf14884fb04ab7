"""NORM: the feature transform, its exact folding into the classifier, the loss against a written-out reference."""
import copy

import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import MODELS, init_default_scope

from tests.test_distill.helpers import (cls_batch, loss_and_backward, params_without_grad, save_teacher,
                                        tiny_classifier)


@pytest.fixture
def norm_cfg(tmp_path):
    teacher = tiny_classifier(depth=34, width=16)
    ckpt = save_teacher(str(tmp_path / 't.pth'), teacher)
    return dict(type='NORMDistiller', student=tiny_classifier(), teacher=teacher, teacher_ckpt=ckpt,
                in_channels=64, teacher_channels=128, num_segments=4)


def _build(cfg):
    init_default_scope('mmpretrain')
    return MODELS.build(copy.deepcopy(cfg))


def _randomise_bn(module):
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 2.0)


def test_norm_loss_matches_written_out_reference():
    from mmext.distill import NORMLoss
    torch.manual_seed(0)
    n, ct = 3, 4
    fs, ft = torch.randn(2, n * ct, 5, 5), torch.randn(2, ct, 5, 5)
    ref = sum(((fs[:, i * ct:(i + 1) * ct] - ft) ** 2).mean() for i in range(n))
    assert torch.allclose(NORMLoss(num_segments=n)(fs, ft), ref, rtol=1e-6)
    # a larger student map is max-pooled to the teacher's size
    big = torch.randn(2, n * ct, 10, 10)
    ref = sum(((F.max_pool2d(big, 2)[:, i * ct:(i + 1) * ct] - ft) ** 2).mean() for i in range(n))
    assert torch.allclose(NORMLoss(num_segments=n, loss_weight=2.0)(big, ft), 2 * ref, rtol=1e-6)
    with pytest.raises(ValueError, match='num_segments \\* teacher channels'):
        NORMLoss(num_segments=2)(fs, ft)


def test_feature_transform_affine_form_and_folding_exactness():
    from mmext.distill import NORMFeatureTransform
    torch.manual_seed(0)
    for residual in (True, False):
        ft = NORMFeatureTransform(16, 8, num_segments=4, residual=residual)
        _randomise_bn(ft)
        ft.eval()
        x = torch.randn(2, 16, 3, 3)
        m, d = ft.as_affine()
        ref = torch.einsum('oc,bchw->bohw', m, x.double()) + d[None, :, None, None]
        assert torch.allclose(ft(x).double(), ref, atol=1e-5)
        fc = torch.nn.Linear(16, 5)
        folded = ft.fold_into_linear(fc)
        assert torch.allclose(fc(ft(x).mean((2, 3))), folded(x.mean((2, 3))), atol=1e-5)


def test_norm_distiller_loss_keys_gradients_and_batch_of_one(norm_cfg):
    model = _build(norm_cfg)
    losses, _ = loss_and_backward(model, cls_batch())
    assert set(losses) == {'student.loss', 'distill.loss_norm'}
    assert all(torch.isfinite(v) for v in losses.values())
    assert params_without_grad(model) == []
    assert model._expanded is None, 'the expanded feature is released after the step'
    model.zero_grad()
    loss_and_backward(model, cls_batch(batch=1, seed=3))
    with pytest.raises(ValueError, match='num_segments'):
        _build(dict(norm_cfg, norm_loss=dict(type='NORMLoss', num_segments=2)))


def test_norm_kd_and_logit_standardization(norm_cfg):
    model = _build(dict(norm_cfg, kd_loss=dict(type='DistillKLDivLoss', tau=4.0), logit_standardization=2.5))
    assert model.teacher_forward == 'tensor'
    losses, _ = loss_and_backward(model, cls_batch())
    assert set(losses) == {'student.loss', 'distill.loss_norm', 'distill.loss_kd'}
    assert params_without_grad(model) == []
    model.eval()
    with torch.no_grad():
        logits = model(model.data_preprocessor(cls_batch(), False)['inputs'], mode='tensor')
    assert logits.std(1).max() != pytest.approx(2.5), 'standardisation is training-only (export stays exact)'


def test_folding_gives_equal_logits_and_a_plain_student(norm_cfg, tmp_path):
    model = _build(norm_cfg)
    for _ in range(2):  # move the FT's BN statistics away from the identity
        loss_and_backward(model, cls_batch(seed=_))
    _randomise_bn(model.feature_transform)
    model.eval()
    exported = model.export_state_dict()
    assert not [k for k in exported if 'feature_transform' in k or k.startswith('student.')]
    init_default_scope('mmpretrain')
    plain = MODELS.build(tiny_classifier())
    plain.load_state_dict(exported, strict=True)
    plain.eval()
    inputs = model.data_preprocessor(cls_batch(seed=5), False)['inputs']
    with torch.no_grad():
        before, after = model(inputs, mode='tensor'), plain(inputs, mode='tensor')
    assert torch.allclose(before, after, rtol=1e-4, atol=1e-5), (before - after).abs().max()
    assert sum(p.numel() for p in plain.parameters()) == sum(p.numel() for p in model.student.parameters())


def test_exported_resnet18_has_the_vanilla_parameter_count():
    """ResNet-18 with 1000 classes: 11,689,512 parameters (torchvision's published count)."""
    from mmext.distill import NORMFeatureTransform
    init_default_scope('mmpretrain')
    r18 = MODELS.build(dict(type='ImageClassifier', backbone=dict(type='ResNet', depth=18),
                            neck=dict(type='GlobalAveragePooling'),
                            head=dict(type='LinearClsHead', num_classes=1000, in_channels=512)))
    assert sum(p.numel() for p in r18.parameters()) == 11_689_512
    ft = NORMFeatureTransform(512, 512, num_segments=8)  # ResNet-34 -> ResNet-18, N = 8
    # two 1x1 convs without bias (512x4096 each) + BN(4096) + BN(512): all folded away at export
    assert sum(p.numel() for p in ft.parameters()) == 2 * 512 * 4096 + 2 * 4096 + 2 * 512
