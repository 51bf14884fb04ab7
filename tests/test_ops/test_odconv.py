"""ODConv2d against a written-out per-sample reference (paper formula on the kernel), batch 1, gradients."""
import pytest
import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode

from mmext.ops import ODConv2d
from mmext.ops.dynamic_conv import _unfold_conv2d

CASES = [
    # in, out, k, stride, pad, dil, groups, K
    (8, 16, 3, 2, 1, 1, 1, 4),
    (16, 16, 3, 1, 1, 1, 16, 4),  # depthwise: no filter attention
    (8, 12, 1, 1, 0, 1, 1, 4),  # 1x1: no spatial attention
    (8, 12, 1, 1, 0, 1, 1, 1),  # 1x1, K=1: static conv with gating
    (8, 16, 3, 1, 2, 2, 2, 1),  # grouped, dilated, K=1: no kernel attention
    (12, 8, 5, 1, 2, 1, 4, 3),
]


def reference(conv: ODConv2d, x: torch.Tensor) -> torch.Tensor:
    """Loop over the batch; y_b = (sum_i a_wi a_fi a_ci a_si W_i) * x_b, attentions from the parameters (eval)."""
    att = conv.attention
    t = float(att.temperature)
    g, k, kn = conv.groups, conv.kernel_size, conv.kernel_num
    out_c, in_c = conv.out_channels, conv.in_channels
    outs = []
    for b in range(x.shape[0]):
        xb = x[b:b + 1]
        p = xb.mean(dim=(2, 3))[0]  # [in]
        h = att.fc.weight.flatten(1) @ p
        h = (h - att.bn.running_mean) / torch.sqrt(att.bn.running_var + att.bn.eps) * att.bn.weight + att.bn.bias
        h = torch.relu(h)
        ca = torch.sigmoid((att.channel_fc.weight.flatten(1) @ h + att.channel_fc.bias) / t)
        fa = (x.new_ones(out_c) if att.filter_fc is None else
              torch.sigmoid((att.filter_fc.weight.flatten(1) @ h + att.filter_fc.bias) / t))
        sa = (x.new_ones(k * k) if att.spatial_fc is None else
              torch.sigmoid((att.spatial_fc.weight.flatten(1) @ h + att.spatial_fc.bias) / t))
        ka = (x.new_ones(1) if att.kernel_fc is None else
              torch.softmax((att.kernel_fc.weight.flatten(1) @ h + att.kernel_fc.bias) / t, dim=0))
        # input channel seen by weight[o, j] is (o // (out/g)) * (in/g) + j
        ca_w = ca.reshape(g, 1, in_c // g).expand(g, out_c // g, in_c // g).reshape(out_c, in_c // g)
        kernel = x.new_zeros(out_c, in_c // g, k, k)
        for i in range(kn):
            kernel = kernel + ka[i] * fa.view(-1, 1, 1, 1) * ca_w.view(out_c, in_c // g, 1, 1) * \
                sa.view(1, 1, k, k) * conv.weight[i]
        outs.append(F.conv2d(xb, kernel, None, conv.stride, conv.padding, conv.dilation, g))
    return torch.cat(outs)


@pytest.mark.parametrize('case', CASES)
@pytest.mark.parametrize('temperature', [1.0, 7.0])
def test_odconv_matches_per_sample_reference(case, temperature):
    torch.manual_seed(0)
    cin, cout, k, s, p, d, g, kn = case
    conv = ODConv2d(cin, cout, k, s, p, d, g, kernel_num=kn).eval()
    for name, buf in conv.attention.bn.named_buffers():  # non-trivial running statistics
        if name in ('running_mean', 'running_var'):
            buf.copy_(torch.rand_like(buf) + 0.5)
    conv.update_temperature(temperature)
    x = torch.randn(3, cin, 9, 10)
    with torch.no_grad():
        assert torch.allclose(conv(x), reference(conv, x), rtol=1e-4, atol=1e-5)


def test_odconv_special_cases_structure():
    dw = ODConv2d(16, 16, 3, padding=1, groups=16, kernel_num=4)
    assert dw.attention.filter_fc is None and dw.attention.spatial_fc is not None
    pw = ODConv2d(16, 32, 1, kernel_num=1)
    assert pw.attention.spatial_fc is None and pw.attention.kernel_fc is None
    assert pw.weight.shape == (1, 32, 16, 1, 1)
    # hidden width: max(int(in/16), 16)
    assert ODConv2d(512, 512, 3, kernel_num=4).attention.fc.out_channels == 32
    assert ODConv2d(64, 64, 3).attention.fc.out_channels == 16
    with pytest.raises(ValueError, match='kernel_size'):
        ODConv2d(8, 8, (3, 3))
    with pytest.raises(ValueError, match='groups'):
        ODConv2d(8, 6, 3, groups=4)


def test_odconv_trains_with_batch_one_and_all_params_get_grads():
    torch.manual_seed(0)
    conv = ODConv2d(8, 16, 3, padding=1, kernel_num=4).train()
    out = conv(torch.randn(1, 8, 8, 8))  # the released BatchNorm attention raises here
    assert out.shape == (1, 16, 8, 8) and torch.isfinite(out).all()
    out = conv(torch.randn(2, 8, 8, 8))
    out.square().mean().backward()
    for name, param in conv.named_parameters():
        assert param.grad is not None and torch.isfinite(param.grad).all(), name
        assert param.grad.abs().sum() > 0, name


def test_odconv_temperature_is_buffer_not_in_state_dict():
    conv = ODConv2d(8, 8, 3, padding=1)
    assert float(conv.attention.temperature) == 1.0
    conv.update_temperature(30.0)
    assert float(conv.attention.temperature) == 30.0
    assert not any('temperature' in k for k in conv.state_dict())


class _ShapeRecorder(TorchDispatchMode):

    def __init__(self):
        super().__init__()
        self.numels = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in (out if isinstance(out, (tuple, list)) else [out]):
            if isinstance(t, torch.Tensor):
                self.numels.append(t.numel())
        return out


def test_odconv_no_batch_times_kernel_num_temporary():
    torch.manual_seed(0)
    b, kn, cin, cout, k = 3, 4, 8, 16, 3
    conv = ODConv2d(cin, cout, k, padding=1, kernel_num=kn)
    x = torch.randn(b, cin, 6, 6)
    rec = _ShapeRecorder()
    with rec:
        conv(x).sum().backward()
    big = b * kn * cout * cin * k * k
    assert max(rec.numels) < big, 'a [B, K, out, in, k, k] temporary was materialised'


def test_unfold_formulation_equals_grouped_conv():
    torch.manual_seed(0)
    for g in (1, 2, 8):
        x = torch.randn(3, 8, 7, 9)
        w = torch.randn(3, 16, 8 // g, 3, 3)
        ref = torch.cat([F.conv2d(x[i:i + 1], w[i], None, 2, 1, 1, g) for i in range(3)])
        got = _unfold_conv2d(x, w, (2, 2), (1, 1), (1, 1), g)
        assert torch.allclose(got, ref, rtol=1e-4, atol=1e-5)


PLANS = [('kernel', False, False), ('kernel', True, False), ('kernel', True, True), ('kernel', False, True),
         ('kbranch', False, False)]


def _forced(conv, plan):
    """Force ``conv`` onto one formulation (the shape-based choice is tested separately)."""
    conv.plan = lambda x: plan
    return conv


@pytest.mark.parametrize('case', CASES)
@pytest.mark.parametrize('plan', PLANS, ids=[f'{p[0]}-ca{int(p[1])}-fa{int(p[2])}' for p in PLANS])
@pytest.mark.parametrize('batch', [1, 3])
def test_every_formulation_matches_reference_with_gradients(case, plan, batch):
    """Outputs and the gradients of x and of every parameter equal the per-sample reference (float64)."""
    torch.manual_seed(0)
    cin, cout, k, s, p, d, g, kn = case
    if plan[0] == 'kbranch' and g > 1:
        pytest.skip('the K-branch formulation is only planned for groups == 1')
    conv = _forced(ODConv2d(cin, cout, k, s, p, d, g, kernel_num=kn).double().eval(), plan)
    for name, buf in conv.attention.bn.named_buffers():
        if name in ('running_mean', 'running_var'):
            buf.copy_(torch.rand_like(buf) + 0.5)
    x = torch.randn(batch, cin, 9, 10, dtype=torch.double, requires_grad=True)
    r = torch.randn_like(reference(conv, x.detach()))
    grads = []
    for fn in (conv, lambda t: reference(conv, t)):
        x.grad = None
        conv.zero_grad(set_to_none=True)
        (fn(x) * r).sum().backward()
        grads.append([x.grad.clone()] + [q.grad.clone() for q in conv.parameters()])
    with torch.no_grad():
        torch.testing.assert_close(conv(x), reference(conv, x), rtol=1e-10, atol=1e-12)
    for got, ref in zip(*grads):
        torch.testing.assert_close(got, ref, rtol=1e-9, atol=1e-12)


def test_plan_follows_the_shape():
    """7x7 ResNet-50 stage: K-branch; 56x56: per-sample kernel with both gates folded; K=1 1x1 at 7x7: static."""
    od4 = ODConv2d(512, 512, 3, 1, 1, kernel_num=4)
    assert od4.plan(torch.empty(2, 512, 7, 7)) == ('kbranch', False, False)
    assert ODConv2d(64, 64, 3, 1, 1, kernel_num=4).plan(torch.empty(2, 64, 56, 56)) == ('kernel', True, True)
    assert ODConv2d(2048, 512, 1, kernel_num=1).plan(torch.empty(2, 2048, 7, 7)) == ('static', False, False)
    dw = ODConv2d(32, 32, 3, 1, 1, groups=32, kernel_num=4)
    assert dw.plan(torch.empty(2, 32, 56, 56)) == ('kernel', True, False)


@pytest.mark.parametrize('plan', [('kernel', True, True), ('kernel', False, False)])
def test_training_saves_no_per_sample_kernel(plan):
    """The per-sample kernel [B, out, in, k, k] is rebuilt in backward, not saved; nor is the gated input."""
    torch.manual_seed(0)
    b, cin, cout = 3, 8, 16  # b != K, so the weight [K, out, in, 3, 3] is not mistaken for a kernel
    conv = _forced(ODConv2d(cin, cout, 3, padding=1, kernel_num=4).train(), plan)
    x = torch.randn(b, cin, 6, 6, requires_grad=True)
    saved = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
        out = conv(x)
    kernel = b * cout * cin * 9
    assert all(t.numel() != kernel for t in saved), 'a per-sample kernel was saved for backward'
    if plan[1]:
        assert sum(t.numel() == x.numel() for t in saved) == 1, 'only x itself may be saved at input size'
    out.square().mean().backward()
    assert all(q.grad is not None and q.grad.abs().sum() > 0 for q in conv.parameters())


def test_odconv_weight_init_options():
    """'pytorch' gives each of the K kernels nn.Conv2d's default init; the default keeps the release's fan-out."""
    import math

    from mmext.backbones import ODResNet
    torch.manual_seed(0)
    pt = ODConv2d(64, 128, 3, kernel_num=4, weight_init='pytorch')
    bound = 1 / math.sqrt(64 * 9)  # kaiming-uniform a=sqrt(5): U(-1/sqrt(fan_in), 1/sqrt(fan_in)) per kernel
    assert pt.weight.abs().max() <= bound
    assert abs(pt.weight.std().item() - bound / math.sqrt(3)) < 0.05 * bound
    fo = ODConv2d(64, 128, 3, kernel_num=4)
    assert abs(fo.weight.std().item() - math.sqrt(2 / (128 * 9))) < 0.05 * math.sqrt(2 / (128 * 9))
    with pytest.raises(ValueError, match="weight_init must be one of .*'pytorch'.* got 'xavier'"):
        ODConv2d(8, 8, 3, weight_init='xavier')
    net = ODResNet(18, kernel_num=4, base_channels=16, conv_init='pytorch', dcn=None)
    assert all(m.weight_init == 'pytorch' for m in net.modules() if isinstance(m, ODConv2d))
    stem_bound = 1 / math.sqrt(3 * 49)
    assert net.conv1.weight.abs().max() <= stem_bound
    with pytest.raises(ValueError, match='ODResNet: conv_init must be one of'):
        ODResNet(18, conv_init='normal')


def test_head_cache_follows_parameter_updates():
    """The eval-time stacked head weights are rebuilt after an in-place update (optimizer step, load_state_dict)."""
    torch.manual_seed(0)
    conv = ODConv2d(8, 16, 3, padding=1, kernel_num=4).eval()
    x = torch.randn(2, 8, 6, 6)
    with torch.no_grad():
        before = conv(x)
        assert torch.equal(conv(x), before)
        conv.attention.spatial_fc.bias.add_(1.0)
        after = conv(x)
        assert not torch.allclose(after, before)
        assert torch.allclose(after, reference(conv, x), rtol=1e-4, atol=1e-5)


def test_eval_folded_trunk_follows_the_norm_statistics():
    """In eval without autograd fc + BN run folded (cached); a changed BN statistic or fc weight is picked up."""
    torch.manual_seed(0)
    conv = ODConv2d(8, 16, 3, 1, 1, kernel_num=4).double().eval()
    x = torch.randn(2, 8, 6, 6, dtype=torch.double)
    for step in range(3):
        with torch.no_grad():
            got = conv(x)
        assert conv.attention._trunk_cache is not None
        ref = conv(x).detach()  # autograd on: the unfolded fc -> BN path
        torch.testing.assert_close(got, ref, rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(got, reference(conv, x), rtol=1e-10, atol=1e-12)
        with torch.no_grad():  # in place, as load_state_dict does
            conv.attention.bn.running_mean.add_(0.5)
            conv.attention.bn.running_var.mul_(2.0)
            conv.attention.fc.weight.mul_(1.5)
