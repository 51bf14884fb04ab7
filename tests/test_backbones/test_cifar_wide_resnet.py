"""CIFAR WRN-d-k: parameter counts against the WRN paper, the pre-activation block against a written-out
reference, shapes, dropout, freezing and argument checks."""
import pytest
import torch
import torch.nn.functional as F

from mmext.backbones import CifarWideResNet
from mmext.backbones.cifar_wide_resnet import WideBasicBlock


def _count(depth: int, k: int, num_classes: int) -> int:
    """Parameters of WRN-d-k (backbone + linear classifier), written out layer by layer."""
    n = (depth - 4) // 6
    total = 3 * 16 * 9  # stem, no bias
    c_in = 16
    for width, stride in zip((16 * k, 32 * k, 64 * k), (1, 2, 2)):
        for i in range(n):
            cin = c_in if i == 0 else width
            total += 2 * cin + cin * width * 9 + 2 * width + width * width * 9  # BN, conv, BN, conv
            if i == 0 and (stride != 1 or cin != width):
                total += cin * width  # 1x1 projection
        c_in = width
    return total + 2 * 64 * k + 64 * k * num_classes + num_classes  # final BN, fc


def _wrn_params(depth: int, k: int, num_classes: int) -> int:
    with torch.device('meta'):
        model = CifarWideResNet(depth, k, init_cfg=None)
    return sum(p.numel() for p in model.parameters()) + 64 * k * num_classes + num_classes


# Zagoruyko & Komodakis, "Wide Residual Networks", BMVC 2016, arXiv:1605.07146v4, the "# params" column of the
# table of CIFAR test errors of wide networks (depth, k): counted with the 10-class (CIFAR-10) classifier, given
# to 0.1M.
WRN_PAPER = [(40, 1, 0.6), (40, 2, 2.2), (40, 4, 8.9), (40, 8, 35.7), (28, 10, 36.5), (28, 12, 52.5),
             (22, 8, 17.2), (22, 10, 26.8), (16, 8, 11.0), (16, 10, 17.1)]


@pytest.mark.parametrize('depth,k,millions', WRN_PAPER, ids=lambda x: str(x))
def test_parameter_counts_match_the_wrn_paper(depth, k, millions):
    count = _wrn_params(depth, k, 10)
    assert count == _count(depth, k, 10)
    assert round(count / 1e6, 1) == millions


def test_cifar100_kd_zoo_counts():
    """The CIFAR-100 KD pairs (RepDistiller/CRD-style tables list WRN-40-2 2.26M, WRN-16-2 0.70M, WRN-40-1
    0.57M; that source was not re-read here, so the exact counts are checked against the written-out formula and
    the published rounding)."""
    exact = {(40, 2): 2_255_156, (16, 2): 703_284, (40, 1): 569_780, (28, 10): 36_536_884}
    for (depth, k), value in exact.items():
        assert _wrn_params(depth, k, 100) == _count(depth, k, 100) == value
    assert [round(exact[key] / 1e6, 2) for key in ((40, 2), (16, 2), (40, 1))] == [2.26, 0.70, 0.57]


def _bn(x, bn):
    return F.batch_norm(x, bn.running_mean, bn.running_var, bn.weight, bn.bias, False, 0.0, bn.eps)


@pytest.mark.parametrize('cin,cout,stride', [(8, 8, 1), (8, 16, 2)])
def test_block_equals_written_out_preactivation(cin, cout, stride):
    torch.manual_seed(0)
    block = WideBasicBlock(cin, cout, stride)
    with torch.no_grad():
        for bn in (block.norm1, block.norm2):
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.3, 0.3)
            bn.running_mean.uniform_(-0.2, 0.2)
            bn.running_var.uniform_(0.5, 1.5)
    block.eval()
    x = torch.randn(2, cin, 8, 8)
    act = F.relu(_bn(x, block.norm1))
    y = F.conv2d(act, block.conv1.weight, stride=stride, padding=1)
    y = F.conv2d(F.relu(_bn(y, block.norm2)), block.conv2.weight, padding=1)
    shortcut = x if block.shortcut is None else F.conv2d(act, block.shortcut.weight, stride=stride)
    assert (block.shortcut is None) == (cin == cout and stride == 1)
    assert torch.allclose(block(x), y + shortcut, atol=1e-5)


def test_outputs_shapes_gradients_and_batch_one():
    model = CifarWideResNet(16, 2, out_indices=(0, 1, -1))
    model.init_weights()
    assert model.out_channels == (32, 64, 128) and model.num_blocks == 2
    model.train()
    outs = model(torch.randn(2, 3, 32, 32))
    assert [tuple(o.shape) for o in outs] == [(2, 32, 32, 32), (2, 64, 16, 16), (2, 128, 8, 8)]
    assert (outs[-1] >= 0).all(), 'the last output is taken after the final BN-ReLU'
    assert (outs[0] < 0).any(), 'intermediate outputs are the raw pre-activation sums'
    sum(o.mean() for o in outs).backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    one = model(torch.randn(1, 3, 32, 32))
    assert one[-1].shape == (1, 128, 8, 8) and torch.isfinite(one[-1]).all()


def test_dropout_between_the_convs_only_in_training():
    model = CifarWideResNet(10, 1, drop_rate=0.3)
    assert isinstance(model.layer1[0].drop, torch.nn.Dropout) and model.layer1[0].drop.p == 0.3
    assert isinstance(CifarWideResNet(10, 1).layer1[0].drop, torch.nn.Identity)
    x = torch.randn(2, 3, 32, 32)
    model.eval()
    assert torch.equal(model(x)[0], model(x)[0])
    model.train()
    torch.manual_seed(0)
    a = model(x)[0]
    torch.manual_seed(1)
    assert not torch.equal(a, model(x)[0])


def test_frozen_stages_and_norm_eval():
    model = CifarWideResNet(10, 1, frozen_stages=2, norm_eval=True)
    model.train()
    frozen = [model.conv1, model.layer1, model.layer2]
    assert all(not p.requires_grad for m in frozen for p in m.parameters())
    assert all(p.requires_grad for p in model.layer3.parameters()) and model.norm.weight.requires_grad
    assert not model.layer1[0].norm1.training and not model.layer3[0].norm1.training, 'norm_eval keeps BN in eval'
    assert model.layer3[0].conv1.training
    all_frozen = CifarWideResNet(10, 1, frozen_stages=3)
    all_frozen.train()
    assert not any(p.requires_grad for p in all_frozen.parameters())
    assert CifarWideResNet(10, 1, frozen_stages=-1).frozen_modules() == []


@pytest.mark.parametrize('kwargs,match', [
    (dict(depth=27), 'depth must be 6n \\+ 4'),
    (dict(depth=4), 'depth must be 6n \\+ 4'),
    (dict(widen_factor=0), 'widen_factor'),
    (dict(drop_rate=1.0), 'drop_rate'),
    (dict(out_indices=(3, )), 'out_indices'),
    (dict(out_indices=()), 'out_indices'),
    (dict(frozen_stages=4), 'frozen_stages'),
])
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CifarWideResNet(**dict(dict(depth=10, widen_factor=1), **kwargs))
