"""The SGC release's voxel rules (issue 15): down-sampling, complete TSDF, hard negatives on it."""
import itertools

import numpy as np
import pytest
import torch
from mmengine.structures import BaseDataElement

from mmext.datasets.shapes3d import (complete_tsdf, downsample_label, downsample_label_release,
                                     downsample_tsdf_release)
from mmext.seg.ssc import SSCSelectedCELoss, select_voxels


def _literal_mode(values, candidate=lambda v: True):
    """The release's ``mode`` / ``modeLargerZero`` loop, written out."""
    old_mode, old_count = 0, 0
    for n, v in enumerate(values):
        if candidate(v):
            count = sum(1 for w in values[n + 1:] if w == v)
            if count > old_count:
                old_mode, old_count = v, count
    return old_mode


def _block_values(vol, f, x, y, z):
    return [vol[i, j, k] for i in range(x * f, (x + 1) * f) for j in range(y * f, (y + 1) * f)
            for k in range(z * f, (z + 1) * f)]


def _literal_downsample(vol, f, kind):
    out = np.zeros(tuple(s // f for s in vol.shape), np.float64)
    for x, y, z in itertools.product(*map(range, out.shape)):
        vals = _block_values(vol, f, x, y, z)
        if kind == 'label':
            zero = sum(1 for v in vals if v < 0.001 or v > 254)
            out[x, y, z] = _literal_mode(vals) if zero > 0.95 * f ** 3 else _literal_mode(vals, lambda v: 0 < v < 255)
        else:
            ones = sum(1 for v in vals if abs(v) >= 1)
            out[x, y, z] = np.mean(vals) if ones < 0.75 * f ** 3 else _literal_mode(vals)
    return out


def _literal_complete_tsdf(label, r):
    """``CompleteTSDF`` kernel loop (cube search, start at 1)."""
    occ = (label > 0) & (label != 255)
    out = np.ones(label.shape)
    X, Y, Z = label.shape
    for x, y, z in itertools.product(range(X), range(Y), range(Z)):
        if occ[x, y, z]:
            out[x, y, z] = 0
            continue
        for i in range(max(0, x - r), min(X, x + r + 1)):
            for j in range(max(0, y - r), min(Y, y + r + 1)):
                for k in range(max(0, z - r), min(Z, z + r + 1)):
                    if occ[i, j, k]:
                        out[x, y, z] = min(out[x, y, z], np.sqrt((x - i) ** 2 + (y - j) ** 2 + (z - k) ** 2) / r)
    return out


def _block(values):
    """A 2x2x2 block from its 8 values in the release's visiting order (x, then y, then z fastest)."""
    return np.asarray(values).reshape(2, 2, 2)


def test_label_downsample_on_hand_made_blocks():
    cases = [
        ([255, 255, 255, 255, 255, 0, 0, 0], 255),  # > 95 % empty/invalid: mode of all -> 255 (block rule: 0)
        ([0, 0, 0, 0, 0, 0, 0, 3], 0),  # a class present once never wins (release counts later repeats)
        ([5, 2, 2, 5, 0, 0, 0, 0], 5),  # tie 5 / 2: the first seen (block rule: lowest class 2)
        ([0, 4, 7, 4, 7, 7, 7, 4], 7),
        ([0, 0, 0, 0, 0, 0, 0, 0], 0),
    ]
    vol = np.concatenate([_block(v) for v, _ in cases]).astype(np.uint8)  # blocks stacked along x
    out = downsample_label_release(vol, 2)
    assert out.dtype == np.uint8 and out.shape == (len(cases), 1, 1)
    assert out[:, 0, 0].tolist() == [want for _, want in cases]
    assert downsample_label(vol, 2)[[0, 2], 0, 0].tolist() == [0, 2]  # the default rule differs on these two


def test_tsdf_downsample_on_hand_made_blocks():
    vol = np.concatenate([
        _block([1, 1, 1, -1, -1, -1, 0.2, 0.3]),  # 6/8 saturated: mode, tie 1 / -1 -> 1 (first)
        _block([-1, 1, -1, -1, 1, 1, -1, 0.5]),  # 7/8 saturated: mode -1
        _block([1, 1, 1, 1, 1, 0.5, 0.5, 0.1]),  # 5/8 saturated: mean
    ]).astype(np.float32)
    out = downsample_tsdf_release(vol, 2)[:, 0, 0]
    np.testing.assert_allclose(out, [1.0, -1.0, (5 + 1.1) / 8], rtol=1e-6)


def test_downsample_matches_a_literal_port_of_the_release_loops():
    rng = np.random.default_rng(0)
    label = rng.choice([0, 1, 2, 3, 255], size=(8, 6, 4), p=[0.7, 0.08, 0.08, 0.04, 0.1]).astype(np.uint8)
    label[:4, :2] = 0
    label[:2, :2, :2] = 255
    label[0, 0, 0] = 0
    np.testing.assert_array_equal(downsample_label_release(label, 2), _literal_downsample(label, 2, 'label'))
    tsdf = rng.choice([-1.0, 1.0, 0.25, -0.5, 0.75], size=(8, 6, 4), p=[0.35, 0.4, 0.1, 0.1, 0.05])
    tsdf = tsdf.astype(np.float32)
    np.testing.assert_allclose(downsample_tsdf_release(tsdf, 2), _literal_downsample(tsdf, 2, 'tsdf'), atol=1e-6)


def test_complete_tsdf_matches_the_release_cube_search():
    rng = np.random.default_rng(1)
    label = np.where(rng.random((9, 7, 8)) < 0.03, 2, 0).astype(np.uint8)
    label[0, 0, 0], label[8, 6, 7] = 255, 5  # invalid is not occupied
    for r in (2, 3):
        want = _literal_complete_tsdf(label, r)
        got = complete_tsdf(label, r)
        np.testing.assert_allclose(got, want, atol=1e-6)
        # and so the same hard-negative candidates (empty & 0 < t < 0.99)
        empty = label == 0
        np.testing.assert_array_equal(empty & (got > 0) & (got < 0.99), empty & (want > 0) & (want < 0.99))
        assert (want == 1).any() and ((want > 0) & (want < 1)).any()
    assert (complete_tsdf(np.zeros((3, 3, 3), np.uint8)) == 1).all()
    with pytest.raises(ValueError, match='radius'):
        complete_tsdf(label, 0)


def test_loss_option_picks_the_tsdf():
    label = torch.zeros(4, 4, 4, dtype=torch.long)
    label[1:3, 1:3, 1:3] = 1
    observed = torch.ones(4, 4, 4)  # no hard negative in the observed TSDF
    complete = torch.from_numpy(complete_tsdf(label.numpy().astype(np.uint8), 2))
    assert not select_voxels(label, observed)['hard_neg'].any()
    assert select_voxels(label, complete)['hard_neg'].any()
    assert SSCSelectedCELoss().tsdf_key == 'tsdf'
    assert SSCSelectedCELoss(hard_negative_tsdf='complete').tsdf_key == 'tsdf_complete'
    with pytest.raises(ValueError, match="hard_negative_tsdf must be 'observed' or 'complete'"):
        SSCSelectedCELoss(hard_negative_tsdf='full')


def _scene(tmp_path):
    rng = np.random.default_rng(2)
    label = np.zeros((16, 8, 16), np.uint8)
    label[:, 0] = 1
    label[3:7, 1:4, 5:9] = 4
    label[12:, :, 12:] = 255
    tsdf = np.clip(rng.normal(0.5, 0.6, label.shape), -1, 1).astype(np.float32)
    (tmp_path / 'scenes').mkdir()
    np.savez(tmp_path / 'scenes' / 'a.npz', tsdf=tsdf, label=label)
    return label, tsdf


def test_dataset_release_options(tmp_path):
    from mmengine.registry import init_default_scope
    from mmseg.registry import DATASETS
    import mmext  # noqa: F401
    init_default_scope('mmseg')
    label, tsdf = _scene(tmp_path)
    base = dict(type='SSCDataset', data_root=str(tmp_path), data_prefix=dict(scenes='scenes'), out_stride=2)
    s = DATASETS.build(dict(base, downsample='release', with_complete_tsdf=True, complete_tsdf_radius=3))[0]
    s = s['data_samples']
    np.testing.assert_array_equal(s.gt_label.numpy(), downsample_label_release(label, 2))
    np.testing.assert_array_equal(s.gt_label_low.numpy(), downsample_label_release(label, 4))
    np.testing.assert_allclose(s.tsdf.numpy(), downsample_tsdf_release(tsdf, 2))
    np.testing.assert_allclose(s.tsdf_complete.numpy(), downsample_tsdf_release(complete_tsdf(label, 3), 2))
    d = DATASETS.build(base)[0]['data_samples']
    assert 'tsdf_complete' not in d
    np.testing.assert_array_equal(d.gt_label.numpy(), downsample_label(label, 2))
    with pytest.raises(ValueError, match="downsample must be one of"):
        DATASETS.build(dict(base, downsample='mode'))


def test_esscnet_passes_the_complete_tsdf(monkeypatch):
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    import mmext  # noqa: F401
    init_default_scope('mmseg')
    torch.manual_seed(0)
    model = MODELS.build(dict(type='ESSCNet', stem_channels=4, channels=8, num_levels=3, blocks_per_level=1,
                              loss=dict(type='SSCSelectedCELoss', hard_negative_tsdf='complete')))
    seen = {}
    orig = model.loss_module.weights

    def spy(labels, tsdf):
        seen['tsdf'] = tsdf
        return orig(labels, tsdf)

    monkeypatch.setattr(model.loss_module, 'weights', spy)
    inputs = torch.full((1, 32, 16, 32), 1.0)
    inputs[0, 8:20, 0:4, 8:20] = 0.5
    sample = BaseDataElement(gt_label=torch.zeros(8, 4, 8, dtype=torch.long),
                             gt_label_low=torch.zeros(4, 2, 4, dtype=torch.long), tsdf=torch.ones(8, 4, 8))
    sample.gt_label[2:5, 0, 2:5] = 3
    with pytest.raises(KeyError, match='with_complete_tsdf=True'):
        model(**model.data_preprocessor(dict(inputs=list(inputs), data_samples=[sample]), True), mode='loss')
    sample.tsdf_complete = torch.full((8, 4, 8), 0.5)
    losses = model(**model.data_preprocessor(dict(inputs=list(inputs), data_samples=[sample]), True), mode='loss')
    assert torch.equal(seen['tsdf'][0], sample.tsdf_complete) and torch.isfinite(sum(losses.values()))
