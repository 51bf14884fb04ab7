"""per_sample_conv2d (the fast path of ODConv2d / KWConv2d): every formulation against a per-sample loop of
F.conv2d, outputs and gradients in float64, the shape-based choice, and the kernel recomputation in backward."""
import pytest
import torch
import torch.nn.functional as F

import mmext.ops.dynamic_conv as dc
from mmext.ops.dynamic_conv import conv_formulation, per_sample_conv2d

# in, out, k, stride, padding, dilation, groups, H, W
SHAPES = [
    (6, 5, 3, 1, 1, 1, 1, 7, 6),
    (6, 4, 3, 2, 2, 2, 1, 9, 8),
    (6, 4, 1, 1, 0, 1, 1, 5, 7),
    (6, 4, 1, 2, 0, 1, 1, 7, 6),
    (6, 6, 3, 1, 1, 1, 6, 6, 6),
    (6, 4, 3, 2, 1, 1, 2, 7, 7),
]
MODES = ['single', 'bmm', 'unfold', 'grouped']


def _valid(mode, shape, batch):
    cin, cout, k, s, p, d, g = shape[:7]
    if mode == 'single':
        return batch == 1
    if mode == 'bmm':
        return g == 1 and k == 1 and p == 0
    if mode == 'unfold':
        return g == 1
    return True


def _assemble(base, scale):
    """A differentiable per-sample kernel: ``base * scale[b]`` (stands in for the OD / KW assembly)."""
    return base.unsqueeze(0) * scale.reshape(-1, 1, 1, 1, 1)


@pytest.mark.parametrize('shape', SHAPES)
@pytest.mark.parametrize('mode', MODES)
@pytest.mark.parametrize('batch', [1, 3])
@pytest.mark.parametrize('chunk', [None, 1, 2])  # samples per kernel chunk (None: the whole batch at once)
def test_formulation_matches_loop_with_gradients(shape, mode, batch, chunk, monkeypatch):
    if not _valid(mode, shape, batch):
        pytest.skip(f'{mode} is not used for this shape')
    monkeypatch.setattr(dc, 'conv_formulation', lambda *a: mode)
    batched = None if chunk is None else (False, True)
    if chunk is not None:  # chunks of `chunk` samples (the last one shorter at batch 3, chunk 2)
        cin, cout, k, g = shape[0], shape[1], shape[2], shape[6]
        monkeypatch.setattr(dc, 'KERNEL_CHUNK_BYTES', chunk * cout * cin // g * k * k * 8)
    torch.manual_seed(0)
    cin, cout, k, s, p, d, g, h, w = shape
    x = torch.randn(batch, cin, h, w, dtype=torch.double, requires_grad=True)
    base = torch.randn(cout, cin // g, k, k, dtype=torch.double, requires_grad=True)
    scale = torch.rand(batch, dtype=torch.double, requires_grad=True)
    wshape = (batch, cout, cin // g, k, k)
    got = per_sample_conv2d(x, _assemble, (base, scale), wshape, s, p, d, g, batched=batched)
    kernel = _assemble(base, scale)
    ref = torch.cat([F.conv2d(x[i:i + 1], kernel[i], None, s, p, d, g) for i in range(batch)])
    torch.testing.assert_close(got, ref, rtol=1e-10, atol=1e-12)
    r = torch.randn_like(ref)
    g_got = torch.autograd.grad((got * r).sum(), (x, base, scale))
    g_ref = torch.autograd.grad((ref * r).sum(), (x, base, scale))
    for a, b in zip(g_got, g_ref):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
    with torch.no_grad():  # the inference path (no recomputation) gives the same
        torch.testing.assert_close(per_sample_conv2d(x, _assemble, (base, scale), wshape, s, p, d, g,
                                                     batched=batched), ref)


def test_chunks_cover_the_batch_in_kernel_sized_steps(monkeypatch):
    monkeypatch.setattr(dc, 'KERNEL_CHUNK_BYTES', 100)
    assert dc._chunks(7, 30, (True, )) == [(0, 3), (3, 6), (6, 7)]
    assert dc._chunks(7, 500, (True, )) == [(s, s + 1) for s in range(7)]  # at least one sample per chunk
    assert dc._chunks(7, 30, None) == [(0, 7)]
    with pytest.raises(ValueError, match='batched needs one flag per tensor'):
        per_sample_conv2d(torch.randn(2, 3, 4, 4), _assemble, (torch.randn(2, 3, 1, 1), torch.rand(2)),
                          (2, 2, 3, 1, 1), batched=(True, ))


def test_formulation_choice():
    assert conv_formulation(1, (3, 3), 1, 49, (1, 1)) == 'single'
    assert conv_formulation(8, (1, 1), 1, 3136, (0, 0)) == 'bmm'
    assert conv_formulation(8, (3, 3), 1, 49, (1, 1)) == 'unfold'
    assert conv_formulation(8, (3, 3), 1, 196, (1, 1)) == 'grouped'
    assert conv_formulation(8, (3, 3), 32, 49, (1, 1)) == 'grouped'


def test_kernel_is_recomputed_not_saved():
    torch.manual_seed(0)
    calls = []

    def assemble(base, scale):
        calls.append(1)
        return _assemble(base, scale)

    x = torch.randn(3, 4, 6, 6, requires_grad=True)
    base = torch.randn(5, 4, 3, 3, requires_grad=True)
    scale = torch.rand(3, requires_grad=True)
    saved = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t.numel()) or t, lambda t: t):
        out = per_sample_conv2d(x, assemble, (base, scale), (3, 5, 4, 3, 3), 1, 1)
    assert 3 * 5 * 4 * 9 not in saved and sorted(saved) == sorted([x.numel(), base.numel(), scale.numel()])
    out.sum().backward()
    assert len(calls) == 2 and base.grad is not None and scale.grad is not None and x.grad is not None


@pytest.mark.parametrize('mode', ['grouped', 'unfold'])
def test_autocast_backward(mode, monkeypatch):
    """Under CPU bf16 autocast the recomputed backward runs, returns float32 gradients and is as close to the float32
    gradients as bfloat16 allows (relative error below 1e-2, bfloat16's epsilon being 7.8e-3)."""
    monkeypatch.setattr(dc, 'conv_formulation', lambda *a: mode)
    torch.manual_seed(0)
    x = torch.randn(3, 4, 6, 6, requires_grad=True)
    base = torch.randn(5, 4, 3, 3, requires_grad=True)
    scale = torch.rand(3, requires_grad=True)

    def loop():
        k = _assemble(base, scale)
        return torch.cat([F.conv2d(x[i:i + 1], k[i], None, 1, 1) for i in range(3)])

    grads = {}
    for name in ('fast', 'loop', 'fp32'):
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=name != 'fp32'):
            out = per_sample_conv2d(x, _assemble, (base, scale), (3, 5, 4, 3, 3), 1, 1) if name == 'fast' else loop()
        assert out.dtype == (torch.float32 if name == 'fp32' else torch.bfloat16)
        grads[name] = torch.autograd.grad(out.float().square().sum(), (x, base, scale))
    for fast, ref, truth in zip(grads['fast'], grads['loop'], grads['fp32']):
        assert fast.dtype == torch.float32
        for got in (fast, ref):
            assert (got - truth).abs().max() <= 1e-2 * truth.abs().max()


@pytest.mark.parametrize('layer', ['odconv4x', 'odconv1x', 'kw'])
def test_layers_chunked_equal_whole_batch(layer, monkeypatch):
    """ODConv2d / KWConv2d with the batch split into kernel chunks: same output and gradients (their batched flags
    slice the attentions, never the shared weights)."""
    from mmext.ops import ODConv2d, WarehouseManager
    torch.manual_seed(0)
    if layer == 'kw':
        manager = WarehouseManager(cell_num_ratio=1)
        mod = manager.reserve(6, 8, 3, 1, 1, bias=False, warehouse_name='stage0_layer0_conv0')
        manager.store()
        manager.allocate(mod)
        mod.update_temperature(0.0)
        params = [manager.weights[0], *mod.parameters()]
    else:
        mod = ODConv2d(6, 8, 3, padding=1, kernel_num=4 if layer == 'odconv4x' else 1)
        mod.update_temperature(1.0)
        params = list(mod.parameters())
    mod = mod.double()
    if layer == 'kw':
        manager.double()
        params = [manager.weights[0], *mod.parameters()]
    x = torch.randn(5, 6, 12, 12, dtype=torch.double, requires_grad=True)  # 144 positions: the kernel path
    r = torch.randn(5, 8, 12, 12, dtype=torch.double)
    results, splits = [], []
    chunks = dc._chunks
    monkeypatch.setattr(dc, '_chunks', lambda *a: splits.append(len(chunks(*a))) or chunks(*a))
    for chunk_bytes in (dc.KERNEL_CHUNK_BYTES, 2 * 8 * 6 * 9 * 8):  # whole batch; chunks of 2 samples
        monkeypatch.setattr(dc, 'KERNEL_CHUNK_BYTES', chunk_bytes)
        out = mod(x)
        grads = torch.autograd.grad((out * r).sum(), [x, *params], allow_unused=True)
        results.append((out, grads))
    assert splits == [1, 3]  # whole batch, then 2 + 2 + 1 samples
    torch.testing.assert_close(results[0][0], results[1][0], rtol=1e-10, atol=1e-12)
    for a, b in zip(results[0][1], results[1][1]):
        assert (a is None) == (b is None)
        if a is not None:
            torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
