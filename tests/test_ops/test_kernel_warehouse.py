"""KWConv2d / KWLinear / WarehouseManager against a written-out per-sample reference."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmext.ops import KWConv2d, KWLinear, WarehouseManager


class _Stage(nn.Module):
    """Three layers sharing one warehouse (names as a ResNet stage), plus one in a second warehouse."""

    def __init__(self, norm='BN', dw=True, **kw):
        super().__init__()
        self.warehouse_manager = WarehouseManager(sharing_range=('layer', 'conv'), norm=norm, **kw)
        wm = self.warehouse_manager
        self.conv_a = wm.reserve(8, 16, 3, 2, 1, bias=False, warehouse_name='stage0_layer0_conv0')
        self.conv_b = wm.reserve(16, 16, 3, 1, 1, bias=True, warehouse_name='stage0_layer0_conv1')
        self.conv_c = wm.reserve(16, 16, 3, 1, 1, groups=16 if dw else 1, bias=False,
                                 warehouse_name='stage1_layer0_dwconv0')
        self.conv_d = wm.reserve(16, 32, 1, 1, 0, bias=False, warehouse_name='stage0_layer1_conv2')
        wm.store()
        wm.allocate(self)

    def forward(self, x):
        return self.conv_d(self.conv_c(self.conv_b(self.conv_a(x))))


def _attention_ref(layer, p):
    """Contrasting-driven attention for one sample's pooled features ``p [C]`` (eval-mode norm)."""
    att = layer.attention
    h = att.fc1.weight @ p + (att.fc1.bias if att.fc1.bias is not None else 0)
    if isinstance(att.norm1, nn.BatchNorm1d):
        h = (h - att.norm1.running_mean) / torch.sqrt(att.norm1.running_var + att.norm1.eps) * att.norm1.weight \
            + att.norm1.bias
    else:
        h = F.layer_norm(h, h.shape, att.norm1.weight, att.norm1.bias, att.norm1.eps)
    z = att.fc2.weight @ torch.relu(h) + (att.fc2.bias if att.fc2.bias is not None else 0)
    m, n = att.num_mixtures, att.num_cells
    if att.nonlocal_basis:
        z = z.reshape(m, -1)
        nl = z[:, att.num_local_cells:-1] @ att.fc3.weight.t()
        s = att.start_cell_idx
        z = torch.cat([nl[:, :s], z[:, :att.num_local_cells], nl[:, s:], z[:, -1:]], 1).reshape(-1) + att.basis_bias
    z = z.reshape(m, n + 1)
    z = z / (z.abs().sum(1, keepdim=True) + 1e-3)
    tau = float(att.tau)
    return ((1 - tau) * z + tau * att.temp_bias)[:, :n]


def _kernel_ref(layer, a):
    """Assemble one sample's kernel cell by cell: mixture (s*g_out + o)*g_in + i fills block (o, i) at tap s."""
    cells = layer._manager[0].weights[layer.warehouse_id]
    c_out, c_in = cells.shape[1:3]
    kh, kw = layer.kernel_size
    w = a.new_zeros(layer.out_channels, layer.in_channels // layer.groups, kh, kw)
    for s in range(kh * kw):
        for o in range(layer.g_out):
            for i in range(layer.g_in):
                idx = (s * layer.g_out + o) * layer.g_in + i
                cell = (a[idx].view(-1, 1, 1) * cells.reshape(cells.shape[0], c_out, c_in)).sum(0)
                w[o * c_out:(o + 1) * c_out, i * c_in:(i + 1) * c_in, s // kw, s % kw] = cell
    return w


def _conv_ref(layer, x):
    outs = []
    for b in range(x.shape[0]):
        w = _kernel_ref(layer, _attention_ref(layer, x[b].mean(dim=(1, 2))))
        outs.append(F.conv2d(x[b:b + 1], w, layer.bias, layer.stride, layer.padding, layer.dilation, layer.groups))
    return torch.cat(outs)


def _randomise_norm_stats(model):
    for m in model.modules():
        if isinstance(m, nn.BatchNorm1d):
            m.running_mean.copy_(torch.randn_like(m.running_mean) * 0.1)
            m.running_var.copy_(torch.rand_like(m.running_var) + 0.5)


@pytest.mark.parametrize('ratio,in_r,out_r', [(0.25, 0.5, 0.5), (0.5, 0.5, 0.5), (1, 1, 1), (2, 1, 1), (4, 1, 1),
                                               (1, 0.5, 1)])
@pytest.mark.parametrize('tau', [0.0, 0.3])
@pytest.mark.parametrize('batch', [1, 3])  # batch 1 takes the transposed-matmul assembly
def test_kwconv_matches_per_sample_reference(ratio, in_r, out_r, tau, batch):
    torch.manual_seed(0)
    # a depthwise 3x3 layer has 9 * g_out cells, not a multiple of 4 (1/4x) or 2 (1/2x, g_out=1)
    model = _Stage(dw=ratio >= 1, cell_num_ratio=ratio, cell_inplane_ratio=in_r, cell_outplane_ratio=out_r).eval()
    _randomise_norm_stats(model)
    for layer in model.warehouse_manager.layers(model):
        layer.update_temperature(tau)
        if layer.bias is not None:
            layer.bias.data.normal_()
    x = torch.randn(batch, 8, 9, 8)
    plane_cells = 0
    with torch.no_grad():
        h = x
        for layer in (model.conv_a, model.conv_b, model.conv_c, model.conv_d):
            ref = _conv_ref(layer, h)
            got = layer(h)
            assert torch.allclose(got, ref, rtol=1e-4, atol=1e-5), (layer, (got - ref).abs().max())
            plane_cells += layer.g_out == layer.g_in == 1 and layer.g_spatial > 1
            h = got
    if (ratio, in_r, out_r) == (1, 1, 1):
        assert plane_cells, 'no layer whose cell is its whole kernel plane: the batch-1 branch is not exercised'


def test_kw_nonlocal_basis_and_layernorm_match_reference():
    torch.manual_seed(0)
    model = _Stage(norm='LN', dw=False, cell_num_ratio=0.5, cell_inplane_ratio=0.5, cell_outplane_ratio=0.5,
                   nonlocal_basis_ratio=0.0625).eval()
    assert model.conv_b.attention.nonlocal_basis and model.conv_b.attention.fc1.bias is not None
    for layer in model.warehouse_manager.layers(model):
        layer.attention.basis_bias.data.normal_()
    x = torch.randn(2, 8, 6, 6)
    with torch.no_grad():
        h = model.conv_a(x)
        assert torch.allclose(model.conv_b(h), _conv_ref(model.conv_b, h), rtol=1e-4, atol=1e-5)


def test_warehouse_sharing_layout_and_handover_counts():
    model = _Stage()
    wm = model.warehouse_manager
    # stage0 warehouse: conv_a (3x3 8->16), conv_b (3x3 16->16), conv_d (1x1 16->32); gcd out 16, gcd in 8
    assert list(wm.warehouse_list) == ['stage0_layer_conv', 'stage1_layer_dwconv0']
    assert wm.weights[0].shape == (9 * 1 * 1 + 9 * 1 * 2 + 1 * 2 * 2, 16, 8, 1, 1)
    assert wm.weights[1].shape == (9, 16, 1, 1, 1)
    assert model.conv_a.warehouse_id == model.conv_b.warehouse_id == model.conv_d.warehouse_id == 0
    ranges = [(layer.attention.start_cell_idx, layer.attention.end_cell_idx) for layer in wm.layers(model)]
    assert ranges == [(0, 9), (9, 27), (0, 9), (27, 31)]
    # the manager is registered once, on the model
    keys = model.state_dict().keys()
    assert sum(k.startswith('warehouse_manager.weights.') for k in keys) == 2
    assert not any('tau' in k or 'temp_bias' in k for k in keys)


def test_tau_one_is_the_layers_own_static_conv():
    torch.manual_seed(0)
    model = _Stage(cell_num_ratio=1).eval()
    layer = model.conv_b
    layer.update_temperature(1.0)
    cells = model.warehouse_manager.weights[0]
    start = layer.attention.start_cell_idx
    a = torch.zeros(layer.num_mixtures, cells.shape[0])
    a[torch.arange(layer.num_mixtures), start + torch.arange(layer.num_mixtures)] = 1
    w = _kernel_ref(layer, a)
    x = torch.randn(2, 16, 5, 5)
    with torch.no_grad():
        assert torch.allclose(layer(x), F.conv2d(x, w, layer.bias, 1, 1), rtol=1e-4, atol=1e-5)


def test_kw_trains_batch_one_and_every_param_gets_grad():
    torch.manual_seed(0)
    model = _Stage(cell_num_ratio=2).train()
    out = model(torch.randn(1, 8, 8, 8))
    assert torch.isfinite(out).all()
    model(torch.randn(2, 8, 8, 8)).square().mean().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_kwlinear_matches_reference():
    torch.manual_seed(0)

    class Net(nn.Module):

        def __init__(self):
            super().__init__()
            self.warehouse_manager = WarehouseManager(sharing_range=('layer', ), norm='LN')
            self.fc = self.warehouse_manager.reserve(12, 8, warehouse_name='stage0_layer0', layer_type='linear')
            self.warehouse_manager.store()
            self.warehouse_manager.allocate(self)

    net = Net().eval()
    assert isinstance(net.fc, KWLinear)
    x = torch.randn(2, 5, 12)
    with torch.no_grad():
        got = net.fc(x)
        cells = net.warehouse_manager.weights[0]
        for b in range(2):
            a = _attention_ref(net.fc, x[b].mean(0))  # [m, n]
            c_out, c_in = cells.shape[1:3]
            w = torch.zeros(8, 12)
            for o in range(net.fc.g_out):
                for i in range(net.fc.g_in):
                    w[o * c_out:(o + 1) * c_out, i * c_in:(i + 1) * c_in] = \
                        (a[o * net.fc.g_in + i].view(-1, 1, 1) * cells).sum(0)
            assert torch.allclose(got[b], x[b] @ w.t() + net.fc.bias, rtol=1e-4, atol=1e-5)


def test_manager_errors():
    with pytest.raises(ValueError, match='multiple of 4'):
        _Stage(dw=True, cell_num_ratio=0.25, cell_inplane_ratio=0.5, cell_outplane_ratio=0.5)
    with pytest.raises(ValueError, match='cell_num_ratio'):
        wm = WarehouseManager(cell_num_ratio=0.3)
        wm.reserve(8, 8, 3, warehouse_name='a')
        wm.store()
    with pytest.raises(ValueError, match="norm"):
        WarehouseManager(norm='GN')
    wm = WarehouseManager()
    assert isinstance(wm.reserve(8, 8, 3, enabled=False), nn.Conv2d)
    layer = wm.reserve(8, 8, 3, warehouse_name='a')
    assert isinstance(layer, KWConv2d)
    with pytest.raises(RuntimeError, match='allocate'):
        layer(torch.randn(1, 8, 4, 4))


def test_cell_init_options():
    """'pytorch' gives each layer's own cells nn.Conv2d's default bound for that layer; the default keeps fan-out."""
    import math

    from mmext.backbones import KWResNet
    torch.manual_seed(0)
    stage = _Stage(dw=False, cell_init='pytorch')
    for layer, fan_in in ((stage.conv_a, 8 * 9), (stage.conv_b, 16 * 9), (stage.conv_d, 16)):
        cells = stage.warehouse_manager.weights[layer.warehouse_id][layer.attention.start_cell_idx:][
            :layer.num_mixtures]
        bound = 1 / math.sqrt(fan_in)
        assert cells.abs().max() <= bound
        assert abs(cells.std().item() - bound / math.sqrt(3)) < 0.1 * bound
    fo = _Stage(dw=False)
    cells = fo.warehouse_manager.weights[fo.conv_b.warehouse_id][fo.conv_b.attention.start_cell_idx:][
        :fo.conv_b.attention.num_mixtures]
    # the release's kaiming-normal fan-out on the cells stacked as [m * c_out, c_in]: std sqrt(2 / (m * c_out))
    expected = math.sqrt(2 / (cells.shape[0] * cells.shape[1]))
    assert abs(cells.std().item() - expected) < 0.1 * expected
    with pytest.raises(ValueError, match="cell_init must be one of .*'pytorch'.* got 'xavier'"):
        WarehouseManager(cell_init='xavier')
    net = KWResNet(18, base_channels=16, conv_init='pytorch')
    assert net.warehouse_manager.cell_init == 'pytorch'
    assert net.conv1.weight.abs().max() <= 1 / math.sqrt(3 * 49)
    with pytest.raises(ValueError, match='KWResNet: conv_init must be one of'):
        KWResNet(18, conv_init='normal')


@pytest.mark.parametrize('batch', [1, 3])
def test_kwconv_gradients_match_reference(batch):
    """Gradients of the input, the attentions and the warehouses equal the per-sample reference (float64), through
    every per-sample formulation of the stage (3x3 im2col / single, depthwise grouped, 1x1 bmm)."""
    torch.manual_seed(0)
    model = _Stage(cell_num_ratio=1).double().eval()
    _randomise_norm_stats(model)
    for layer in model.warehouse_manager.layers(model):
        layer.update_temperature(0.3)
    x = torch.randn(batch, 8, 9, 8, dtype=torch.double, requires_grad=True)
    grads = []
    for conv in (lambda layer, h: layer(h), _conv_ref):
        h = x
        for layer in (model.conv_a, model.conv_b, model.conv_c, model.conv_d):
            h = conv(layer, h)
        model.zero_grad(set_to_none=True)
        x.grad = None
        (h * torch.linspace(-1, 1, h.numel(), dtype=torch.double).reshape(h.shape)).sum().backward()
        grads.append([x.grad.clone()] + [p.grad.clone() for p in model.parameters()])
    for got, ref in zip(*grads):
        torch.testing.assert_close(got, ref, rtol=1e-9, atol=1e-12)


def test_inference_cells_padded_copy_is_exact_and_follows_the_parameter():
    """The row-padded inference copy gives the same layer output and is rebuilt after an in-place update."""
    torch.manual_seed(0)
    manager = WarehouseManager(cell_num_ratio=1)
    conv = manager.reserve(32, 32, 3, 1, 1, bias=False, warehouse_name='stage0_layer0_conv0')  # 32*32*4 B = 4 KiB
    manager.store()
    manager.allocate(conv)
    conv.update_temperature(0.0)
    conv.eval()
    x = torch.randn(1, 32, 6, 6)
    with torch.no_grad():
        padded = manager.inference_cells(0)
        assert padded is not None and padded.stride(0) == 32 * 32 + WarehouseManager.INFERENCE_ROW_PAD
        assert torch.equal(padded, manager.weights[0].reshape(manager.weights[0].shape[0], -1))
        ref = _conv_ref(conv, x)
        assert torch.allclose(conv(x), ref, rtol=1e-4, atol=1e-5)
        manager.weights[0].mul_(2.0)  # an in-place update (optimiser step, load_state_dict)
        assert torch.allclose(conv(x), 2 * ref, rtol=1e-4, atol=1e-5)
    assert manager.inference_cells(0) is None  # autograd on a trainable warehouse: no copy
    manager._inference_cells.clear()
    conv.train()
    with torch.no_grad():  # the training forward assembles without autograd too, but never from the copy
        conv(torch.randn(2, 32, 6, 6))
    assert not manager._inference_cells
