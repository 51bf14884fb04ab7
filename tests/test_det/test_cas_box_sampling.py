"""CASNet box-aligned class logits: sampler shapes and exactness, detached boxes, forward modes, off = old outputs."""
import copy

import pytest
import torch

from mmext.det.cas_box_sampling import CASBoxLogits, sample_in_boxes
from tests.test_det.test_casnet import INSTANCE_CFG, PANOPTIC_CFG, _build, _sample


def _bilinear(feat: torch.Tensor, x: float, y: float, stride: int) -> torch.Tensor:
    """Hand bilinear sample of (C, h, w) at input pixel (x, y); cell centres at (j + 0.5) * stride, zeros outside."""
    c, h, w = feat.shape
    u, v = x / stride - 0.5, y / stride - 0.5
    j0, i0 = int(torch.floor(torch.tensor(u))), int(torch.floor(torch.tensor(v)))
    out = torch.zeros(c, dtype=feat.dtype)
    for i, wy in ((i0, 1 - (v - i0)), (i0 + 1, v - i0)):
        for j, wx in ((j0, 1 - (u - j0)), (j0 + 1, u - j0)):
            if 0 <= i < h and 0 <= j < w:
                out += wy * wx * feat[:, i, j]
    return out


def test_sampler_shape_and_exact_bilinear_values():
    torch.manual_seed(0)
    feats = torch.randn(2, 3, 4, 5, dtype=torch.float64)
    boxes = torch.rand(2, 4, 5, 4, dtype=torch.float64) * 20
    boxes[..., 2:] = boxes[..., :2] + torch.rand(2, 4, 5, 2, dtype=torch.float64) * 12
    out = sample_in_boxes(feats, boxes, grid=3, stride=4)
    assert out.shape == (2, 3 * 9, 4, 5)
    for b, i, j in ((0, 0, 0), (1, 2, 3), (0, 3, 4)):
        x1, y1, x2, y2 = boxes[b, i, j].tolist()
        for a in range(3):
            for c in range(3):
                x, y = x1 + (x2 - x1) * (c + 0.5) / 3, y1 + (y2 - y1) * (a + 0.5) / 3
                ref = _bilinear(feats[b], x, y, 4)
                got = out[b, [ch * 9 + a * 3 + c for ch in range(3)], i, j]
                assert torch.allclose(got, ref, atol=1e-9)


@pytest.mark.parametrize('hidden', [None, 7])
def test_gradients_reach_the_parameters_but_not_the_boxes(hidden):
    head = CASBoxLogits(in_channels=6, num_things=5, grid=3, channels=4, stride=4, hidden=hidden)
    assert (head.hidden is None) == (hidden is None)
    if hidden:
        assert head.hidden[0].in_channels == 4 * 9 and head.cls.in_channels == hidden
    feats = torch.randn(1, 6, 8, 8, requires_grad=True)
    boxes = (torch.rand(1, 8, 8, 4) * 16 + torch.tensor([0., 0., 16., 16.])).requires_grad_()
    logits = head(feats, boxes)
    assert logits.shape == (1, 5, 8, 8)
    logits.square().sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in head.parameters())
    assert feats.grad is not None and boxes.grad is None


def test_bad_arguments_name_the_key():
    with pytest.raises(ValueError, match='grid'):
        CASBoxLogits(in_channels=6, num_things=5, grid=0)
    with pytest.raises(ValueError, match='hidden'):
        CASBoxLogits(in_channels=6, num_things=5, hidden=2.5)
    with pytest.raises(KeyError, match='box_logits'):
        _build(INSTANCE_CFG, box_logits=dict(grid=3, size=2))


@pytest.mark.parametrize('path', [INSTANCE_CFG, PANOPTIC_CFG], ids=['instance', 'panoptic'])
def test_forward_modes_with_box_logits_and_every_parameter_gets_a_gradient(path):
    model = _build(path, box_logits=dict(grid=3, channels=8, hidden=16))
    assert model.box_logits is not None and model.box_logits.hidden is not None
    stuff = model.num_stuff > 1
    samples = [_sample(stuff=stuff), _sample(stuff=stuff)]
    inputs = torch.randn(2, 3, 64, 64)
    model.train()
    losses = model(inputs, samples, mode='loss')
    sum(v for v in losses.values()).backward()
    missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing, missing
    outs = model(inputs, samples, mode='tensor')
    assert outs[0].shape == (2, model.num_things + model.num_stuff, 16, 16)
    model.eval()
    with torch.no_grad():
        preds = model(inputs, [copy.deepcopy(s) for s in samples], mode='predict')
    assert len(preds) == 2 and 'pred_instances' in preds[0]


def test_box_logits_off_gives_the_old_outputs():
    torch.manual_seed(0)
    on = _build(INSTANCE_CFG, box_logits=dict(grid=3, channels=8))
    off = _build(INSTANCE_CFG, box_logits=None)
    state = {k: v for k, v in on.state_dict().items() if not k.startswith('box_logits.')}
    off.load_state_dict(state)
    assert not any(k.startswith('box_logits') for k in off.state_dict())
    on.eval(), off.eval()
    inputs = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        seg_off = off(inputs, None, mode='tensor')[0]
        seg_on = on(inputs, None, mode='tensor')[0]
        on.box_logits.cls.weight.zero_()
        on.box_logits.cls.bias.zero_()
        seg_zero = on(inputs, None, mode='tensor')[0]
    assert torch.equal(seg_zero[:, 5:], seg_off[:, 5:]) and torch.allclose(seg_zero, seg_off, atol=1e-6)
    assert not torch.allclose(seg_on, seg_off)
