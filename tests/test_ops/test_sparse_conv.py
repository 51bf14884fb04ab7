"""The pure-PyTorch sparse-conv backend against dense ``nn.functional`` references on random sparse grids, SGC's
group isolation, and (``cuda`` marker) mmcv's CUDA ops against the PyTorch backend on the same weights."""
import pytest
import torch
import torch.nn.functional as F

from mmext.ops.sparse import (SGCSubMConv3d, SparseTensor, SpConv3d, SpConvTranspose3d, SpInverseConv3d,
                              SpMaxPool3d, SpSubMConv3d, build_rulebook, sgc_groups, sparse_add_union)


def random_sparse(batch=2, channels=3, shape=(9, 7, 8), occupancy=0.15, seed=0, device='cpu') -> SparseTensor:
    g = torch.Generator().manual_seed(seed)
    mask = torch.rand(batch, *shape, generator=g) < occupancy
    idx = mask.nonzero().int()
    feats = torch.randn(idx.shape[0], channels, generator=g)
    return SparseTensor(feats.to(device), idx.to(device), list(shape), batch)


def dense_weight(w: torch.Tensor) -> torch.Tensor:
    """mmcv layout [kD, kH, kW, Cin, Cout] -> nn.Conv3d layout [Cout, Cin, kD, kH, kW]."""
    return w.permute(4, 3, 0, 1, 2).contiguous()


def at_sites(dense: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
    i = indices.long()
    return dense.permute(0, 2, 3, 4, 1)[i[:, 0], i[:, 1], i[:, 2], i[:, 3]]


def test_sparse_tensor_dense_roundtrip():
    x = random_sparse()
    d = x.dense()
    assert d.shape == (2, 3, 9, 7, 8)
    back = SparseTensor.from_dense(d)
    assert back.indices.shape[0] == x.indices.shape[0]
    torch.testing.assert_close(back.dense(), d)


@pytest.mark.parametrize('kernel,dilation', [(3, 1), (5, 1), (3, 2), ((3, 1, 3), 1), (2, 1), ((2, 3, 4), 1)])
def test_subm_matches_dense_conv(kernel, dilation):
    x = random_sparse()
    conv = SpSubMConv3d(3, 5, kernel, dilation=dilation)
    out = conv(x)
    assert torch.equal(out.indices, x.indices), 'submanifold keeps exactly the input sites'
    # mmcv's submanifold rule: output o reads o - k//2 + j*dilation (centred only for dilation 1, as in mmcv)
    pads = []
    for kk in reversed(conv.kernel_size):
        pads += [kk // 2, (kk - 1) * dilation - kk // 2]
    ref = F.conv3d(F.pad(x.dense(), pads), dense_weight(conv.weight), conv.bias, dilation=dilation)
    torch.testing.assert_close(out.features, at_sites(ref, x.indices), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('kernel,stride,padding', [(2, 2, 0), (3, 2, 1), (3, 1, 0), (3, 2, 0)])
def test_strided_conv_matches_dense_conv(kernel, stride, padding):
    x = random_sparse()
    conv = SpConv3d(3, 4, kernel, stride, padding)
    out = conv(x)
    ref = F.conv3d(x.dense(), dense_weight(conv.weight), conv.bias, stride=stride, padding=padding)
    assert list(ref.shape[2:]) == out.spatial_shape
    # the active outputs are exactly the sites whose window holds an active input
    hit = F.conv3d(x.dense()[:, :1].ne(0).float(), torch.ones(1, 1, kernel, kernel, kernel), stride=stride,
                   padding=padding)[:, 0] > 0
    assert out.indices.shape[0] == int(hit.sum())
    assert hit[tuple(out.indices.long().t())].all()
    torch.testing.assert_close(out.dense(), ref * hit[:, None], rtol=1e-5, atol=1e-5)


def test_transposed_and_inverse_conv_match_dense():
    x = random_sparse(occupancy=0.2)
    up = SpConvTranspose3d(3, 4, 2, 2)
    out = up(x)
    ref = F.conv_transpose3d(x.dense(), up.weight.permute(3, 4, 0, 1, 2), up.bias, stride=2)
    assert out.indices.shape[0] == 8 * x.indices.shape[0], 'k=s=2 generates all 8 children of every site'
    torch.testing.assert_close(out.features, at_sites(ref, out.indices), rtol=1e-5, atol=1e-5)

    down = SpConv3d(3, 6, 3, 2, 1, indice_key='d1')
    inv = SpInverseConv3d(6, 3, 3, indice_key='d1')
    y = down(x)
    z = inv(y)
    assert torch.equal(z.indices, x.indices) and z.spatial_shape == x.spatial_shape
    ref = F.conv_transpose3d(y.dense(), inv.weight.permute(3, 4, 0, 1, 2), inv.bias, stride=2, padding=1,
                             output_padding=[(s + 1) % 2 for s in x.spatial_shape])
    torch.testing.assert_close(z.features, at_sites(ref, x.indices), rtol=1e-5, atol=1e-5)


def test_max_pool_matches_dense():
    x = random_sparse(occupancy=0.2)
    out = SpMaxPool3d(3, 2)(x)
    d = x.dense()
    neg = torch.where(x.replace_feature(torch.ones_like(x.features)).dense().bool(), d, torch.full_like(d, -1e9))
    ref = F.max_pool3d(neg, 3, 2).clamp(min=0)  # mmcv's buffer starts at 0
    torch.testing.assert_close(out.features, at_sites(ref, out.indices))


def test_gradients_match_dense():
    x = random_sparse(occupancy=0.3)
    feats = x.features.clone().requires_grad_()
    conv = SpSubMConv3d(3, 4, 3)
    conv(x.replace_feature(feats)).features.square().sum().backward()
    d = x.dense().requires_grad_()
    w = conv.weight.detach().clone().requires_grad_()
    mask = x.replace_feature(torch.ones_like(x.features[:, :1])).dense()
    (F.conv3d(d, dense_weight(w), conv.bias.detach(), padding=1) * mask).square().sum().backward()
    torch.testing.assert_close(feats.grad, at_sites(d.grad, x.indices), rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(conv.weight.grad, w.grad, rtol=1e-4, atol=1e-4)


def test_empty_input_and_bad_args():
    empty = SparseTensor(torch.zeros(0, 3), torch.zeros(0, 4, dtype=torch.int32), [8, 8, 8], 1)
    out = SpSubMConv3d(3, 4)(empty)
    assert out.features.shape == (0, 4)
    assert SpConv3d(3, 4)(empty).features.shape == (0, 4)
    with pytest.raises(ValueError, match='channels'):
        SpSubMConv3d(5, 4)(random_sparse())
    with pytest.raises(ValueError, match='backend'):
        SpSubMConv3d(3, 4, backend='dense')
    with pytest.raises(KeyError, match='indice_key'):
        SpInverseConv3d(3, 3, 3, indice_key='missing')(random_sparse())


def test_union_add():
    a = random_sparse(seed=1)
    b = random_sparse(seed=2)
    s = sparse_add_union(a, b)
    torch.testing.assert_close(s.dense(), a.dense() + b.dense())


def test_sgc_groups_never_mix():
    x = random_sparse(batch=2, channels=1, shape=(8, 8, 8), occupancy=0.5)
    grp = sgc_groups(x.indices)
    assert set(grp.tolist()) == {0, 1, 2, 3}
    conv = SGCSubMConv3d(1, 1, 3, bias=False)
    out = conv(x)
    assert torch.equal(out.indices, x.indices)
    # zeroing every voxel outside group g leaves group g's outputs unchanged, and group g only feeds group g
    for g in range(4):
        keep = grp == g
        out_g = conv(x.replace_feature(x.features * keep[:, None]))
        torch.testing.assert_close(out_g.features[keep], out.features[keep])
        assert out_g.features[~keep].abs().max() == 0
    # per group it equals a plain submanifold conv on that group's voxels alone
    plain = SpSubMConv3d(1, 1, 3, bias=False)
    plain.weight.data.copy_(conv.weight.data)
    for g in range(4):
        keep = grp == g
        sub = SparseTensor(x.features[keep], x.indices[keep], x.spatial_shape, x.batch_size)
        torch.testing.assert_close(plain(sub).features, out.features[keep])


def test_sgc_flops_about_quarter():
    x = random_sparse(batch=1, channels=4, shape=(24, 24, 24), occupancy=0.3)
    plain, sgc = SpSubMConv3d(4, 4), SGCSubMConv3d(4, 4)
    plain(x)
    sgc(x)
    # exactly the plain rulebook's pairs whose two voxels share a group
    grp = sgc_groups(x.indices)
    rb = build_rulebook(x.indices, x.spatial_shape, 3, subm=True)
    same = sum(int((grp[i] == grp[o]).sum()) for i, o in rb.pairs)
    assert plain.last_num_pairs == rb.num_pairs() and sgc.last_num_pairs == same
    # pattern (1, 2, 3) mod 4 keeps 7 of the 27 offsets of a 3x3x3 kernel: ~1/4 of the FLOPs on a full grid
    full = SparseTensor(torch.ones(12 ** 3, 4), torch.ones(1, 12, 12, 12).nonzero().int(), [12, 12, 12], 1)
    plain(full)
    sgc(full)
    assert abs(sgc.last_flops / plain.last_flops - 7 / 27) < 0.01
    assert SGCSubMConv3d(4, 4, num_groups=1)(x).features.shape[0] == x.indices.shape[0]
    with pytest.raises(ValueError, match='pattern'):
        SGCSubMConv3d(4, 4, pattern=(1, 2))


def test_rulebook_key_reuse():
    x = random_sparse()
    conv_a, conv_b = SpSubMConv3d(3, 3, indice_key='s0'), SpSubMConv3d(3, 3, indice_key='s0')
    y = conv_a(x)
    assert 's0' in x.indice_dict and y.indice_dict is x.indice_dict
    rb = x.indice_dict['s0'][1]
    conv_b(y)
    assert x.indice_dict['s0'][1] is rb
    assert build_rulebook(x.indices, x.spatial_shape, 3, subm=True).num_pairs() == rb.num_pairs()


@pytest.mark.cuda
@pytest.mark.parametrize('kind', ['subm', 'conv', 'transposed', 'inverse', 'pool', 'sgc'])
def test_mmcv_cuda_backend_matches_torch_backend(kind):
    """Same module, same weights: mmcv's CUDA kernels vs the PyTorch rulebook path (on the GPU and the CPU)."""
    x = random_sparse(batch=2, channels=8, shape=(17, 13, 15), occupancy=0.1)
    xc = random_sparse(batch=2, channels=8, shape=(17, 13, 15), occupancy=0.1, device='cuda')
    make = dict(subm=lambda b: SpSubMConv3d(8, 16, 3, backend=b),
                conv=lambda b: SpConv3d(8, 16, 3, 2, 1, backend=b),
                transposed=lambda b: SpConvTranspose3d(8, 16, 2, 2, backend=b),
                pool=lambda b: SpMaxPool3d(3, 2, backend=b),
                sgc=lambda b: SGCSubMConv3d(8, 16, 3, backend=b))
    torch.manual_seed(0)
    if kind == 'inverse':
        down, inv = SpConv3d(8, 16, 3, 2, 1, indice_key='k'), SpInverseConv3d(16, 8, 3, indice_key='k')

        def run(t, b):
            down.backend = inv.backend = b
            return inv(down(t))
        mods = [down, inv]
    else:
        mod = make[kind]('auto')
        mods = [mod]

        def run(t, b):
            mod.backend = b
            return mod(t)
    ref = run(x, 'torch').dense()
    for m in mods:
        m.cuda()
    out_mmcv = run(SparseTensor(xc.features, xc.indices, xc.spatial_shape, 2), 'mmcv').dense()
    out_torch_gpu = run(SparseTensor(xc.features, xc.indices, xc.spatial_shape, 2), 'torch').dense()
    torch.testing.assert_close(out_mmcv.cpu(), ref, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(out_torch_gpu.cpu(), ref, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize('kind', [dict(kernel=3, subm=True), dict(kernel=(2, 3, 4), subm=True),
                                  dict(kernel=3, stride=2, padding=1), dict(kernel=2, stride=2, transposed=True)])
def test_sorted_key_lookup_matches_dense_table(monkeypatch, kind):
    """Large grids look sites up by sorted keys / torch.unique instead of dense tables: same rulebook."""
    from mmext.ops.sparse import rulebook
    x = random_sparse()
    fast = build_rulebook(x.indices, x.spatial_shape, **kind)
    monkeypatch.setattr(rulebook, 'DENSE_TABLE_MAX_SITES', 0)
    slow = build_rulebook(x.indices, x.spatial_shape, **kind)
    assert torch.equal(fast.out_indices, slow.out_indices) and fast.num_pairs() == slow.num_pairs() > 0
    for (a_i, a_o), (b_i, b_o) in zip(fast.pairs, slow.pairs):
        assert torch.equal(a_i, b_i) and torch.equal(a_o, b_o)


def test_subm_rulebook_symmetry_and_restriction():
    """A symmetric kernel looks up half of the offsets: offset K-1-k holds k's pairs reversed, the centre is the
    identity; the pairs are exactly the brute-force neighbour pairs. ``restricted`` drops offsets."""
    x = random_sparse(batch=2, shape=(6, 5, 7), occupancy=0.3)
    rb = build_rulebook(x.indices, x.spatial_shape, 3, subm=True)
    assert rb.identity_offset == 13
    pos = {tuple(r): i for i, r in enumerate(x.indices.tolist())}
    for k, (i_rows, o_rows) in enumerate(rb.pairs):
        dz, dy, dx = k // 9 - 1, k // 3 % 3 - 1, k % 3 - 1
        want = sorted((pos[(b, z + dz, y + dy, xx + dx)], o) for (b, z, y, xx), o in pos.items()
                      if (b, z + dz, y + dy, xx + dx) in pos)
        assert sorted(zip(i_rows.tolist(), o_rows.tolist())) == want, f'offset {k}'
    keep = [k % 2 == 0 for k in range(27)]
    sub = rb.restricted(keep)
    for k, ((a_i, a_o), (b_i, b_o)) in enumerate(zip(rb.pairs, sub.pairs)):
        assert (torch.equal(a_i, b_i) and torch.equal(a_o, b_o)) if keep[k] else b_i.numel() == 0
    with pytest.raises(ValueError, match='27 kernel offsets'):
        rb.restricted([True])


def test_indices_stored_row_major():
    """``Tensor.nonzero`` may return a column-major tensor; mmcv's kernels read the raw buffer, so the sparse tensor
    keeps its indices contiguous int32."""
    mask = torch.rand(1, 6, 6, 6, generator=torch.Generator().manual_seed(0)) < 0.3
    idx = mask.nonzero().t().contiguous().t()  # column-major for sure
    x = SparseTensor(torch.ones(idx.shape[0], 1), idx, [6, 6, 6], 1)
    assert x.indices.is_contiguous() and x.indices.dtype == torch.int32 and torch.equal(x.indices.long(), idx)


@pytest.mark.parametrize('kind', ['subm', 'conv', 'sgc', 'inverse'])
def test_gather_gemm_scatter_gradcheck(kind):
    """The custom autograd function (gathers recomputed in backward) against finite differences, float64."""
    from mmext.ops.sparse import gather_gemm_scatter, sgc_offset_mask
    x = random_sparse(batch=1, channels=2, shape=(5, 4, 5), occupancy=0.4)
    if kind in ('subm', 'sgc'):
        rb = build_rulebook(x.indices, x.spatial_shape, 3, subm=True)
        rb = rb.restricted(sgc_offset_mask([3] * 3)) if kind == 'sgc' else rb
    else:
        rb = build_rulebook(x.indices, x.spatial_shape, 3, 2, 1)
    feats = x.features.double().requires_grad_()
    if kind == 'inverse':
        rb = rb.inverted()
        feats = torch.randn(rb.in_indices.shape[0], 2, dtype=torch.double, requires_grad=True)
    w = torch.randn(27, 2, 3, dtype=torch.double, requires_grad=True)
    assert torch.autograd.gradcheck(lambda f, ww: gather_gemm_scatter(f, ww, rb), (feats, w))


def test_sgc_offset_rulebook_equals_release_batch_shift():
    """The PyTorch backend runs SGC as the plain rulebook restricted to same-group offsets; the release shifts the
    batch index by the group instead (what runs on mmcv's ops): same outputs and gradients, same pair count."""
    from mmext.ops.sparse import group_sparse_tensor, sgc_offset_mask
    x = random_sparse(batch=2, channels=3, shape=(9, 8, 10), occupancy=0.4)
    for pattern, groups in (((1, 2, 3), 4), ((1, 1, 1), 3), ((2, 1, 0), 2)):
        sgc = SGCSubMConv3d(3, 4, 3, pattern=pattern, num_groups=groups, indice_key='a')
        plain = SpSubMConv3d(3, 4, 3)
        plain.load_state_dict(sgc.state_dict())
        f1 = x.features.clone().requires_grad_()
        out = sgc(x.replace_feature(f1))
        f2 = x.features.clone().requires_grad_()
        ref = plain(group_sparse_tensor(x.replace_feature(f2), pattern, groups))
        torch.testing.assert_close(out.features, ref.features)
        assert sgc.last_num_pairs == plain.last_num_pairs
        (out.features * ref.features.detach()).sum().backward()
        (ref.features * ref.features.detach()).sum().backward()
        torch.testing.assert_close(f1.grad, f2.grad)
        torch.testing.assert_close(sgc.weight.grad, plain.weight.grad)
        assert sum(sgc_offset_mask([3, 3, 3], [1, 1, 1], pattern, groups)) < 27
