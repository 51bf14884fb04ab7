"""KWLinearClsHead (the KW-MobileNetV2 1/2x classifier) against a per-sample reference written out here."""
import pytest
import torch
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from mmext.cls import KWLinearClsHead
from mmext.ops import KWLinear
from tests.test_ops.test_kernel_warehouse import _attention_ref, _randomise_norm_stats


@pytest.fixture(autouse=True)
def _mmpretrain_scope():
    init_default_scope('mmpretrain')


def _logits_ref(head: KWLinearClsHead, feats: torch.Tensor) -> torch.Tensor:
    """Per sample: attention -> each in-block i of W is sum_j a[i, j] * cell_j -> W f + bias."""
    fc = head.fc
    cells = head.warehouse_manager.weights[0]  # [n, c_out, c_in]
    c_in = cells.shape[2]
    out = []
    for f in feats:
        a = _attention_ref(fc, f)  # [m, n], m = in blocks (c_out = num_classes)
        w = torch.cat([(a[i].view(-1, 1, 1) * cells).sum(0) for i in range(fc.num_mixtures)], dim=1)
        assert w.shape == (head.num_classes, fc.g_in * c_in)
        out.append(w @ f + fc.bias)
    return torch.stack(out)


@pytest.mark.parametrize('tau', [0.0, 0.5])
def test_head_matches_reference(tau):
    torch.manual_seed(0)
    head = KWLinearClsHead(num_classes=7, in_channels=160).eval()  # in cell 160 * 0.025 = 4: 40 mixtures, 20 cells
    assert isinstance(head.fc, KWLinear) and tuple(head.warehouse_manager.weights[0].shape) == (20, 7, 4)
    _randomise_norm_stats(head)
    head.fc.update_temperature(tau)
    feats = torch.randn(3, 160)
    with torch.no_grad():
        assert torch.allclose(head((feats, )), _logits_ref(head, feats), rtol=1e-4, atol=1e-5)


def test_tau_one_uses_own_cells_and_zero_cells():
    """b = 1/2: of each pair of in-blocks one owns a cell (alternating 0/1, 1/0 ...), the other the zero cell."""
    torch.manual_seed(0)
    head = KWLinearClsHead(num_classes=3, in_channels=32, cell_inplane_ratio=0.25).eval()  # 4 blocks of 8, 2 cells
    head.fc.update_temperature(1.0)
    cells = head.warehouse_manager.weights[0]
    zero = torch.zeros(3, 8)
    w = torch.cat([cells[0], zero, zero, cells[1]], dim=1)  # blocks 0 and 3 own cells 0 and 1
    f = torch.randn(2, 32)
    with torch.no_grad():
        assert torch.allclose(head((f, )), f @ w.t() + head.fc.bias, rtol=1e-4, atol=1e-5)


def test_head_losses_predict_grad_and_batch_one():
    torch.manual_seed(0)
    head = MODELS.build(dict(type='KWLinearClsHead', num_classes=5, in_channels=80, topk=(1, )))
    head.train()
    feats = (torch.randn(2, 80), )
    samples = [DataSample().set_gt_label(i) for i in (0, 4)]
    losses = head.loss(feats, samples)
    losses['loss'].backward()
    for name, p in head.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert torch.isfinite(head.loss((torch.randn(1, 80), ), samples[:1])['loss'])  # batch 1 (BN1d-safe attention)
    head.eval()
    with torch.no_grad():
        preds = head.predict(feats)
    assert len(preds) == 2 and preds[0].pred_score.shape == (5, )
    assert isinstance(head.dropout, torch.nn.Dropout) and head.dropout.p == 0.1
    assert isinstance(KWLinearClsHead(5, 80, dropout=0).dropout, torch.nn.Identity)
