"""Shapes-3D generator (determinism, contents, TSDF conventions), down-sampling, the SSC dataset, and the
release's voxel selection and SC/SSC metric on hand-made grids."""
import numpy as np
import pytest
import torch

from mmext.datasets.shapes3d import (downsample_label, downsample_tsdf, ensure_shapes3d, flip_tsdf, generate_scene)
from mmext.seg.ssc import SSCMetric, SSCSelectedCELoss, select_voxels


def test_generator_is_deterministic_and_indoor_like():
    a, b, c = generate_scene(5, (32, 16, 32)), generate_scene(5, (32, 16, 32)), generate_scene(6, (32, 16, 32))
    for k in a:
        assert np.array_equal(a[k], b[k]), k
    assert not np.array_equal(a['label'], c['label'])
    lab = a['label']
    assert lab.shape == (32, 16, 32) and lab.dtype == np.uint8 and lab.max() <= 11
    assert (lab[:, 0] == 2).all() and (lab[:, -1] == 1).all(), 'floor at the bottom, ceiling at the top'
    assert set(np.unique(lab[0, 1:-1])) <= {3, 4}, 'a side wall (with windows)'
    t = a['tsdf']
    assert t.min() >= -1 and t.max() <= 1
    assert (a['depth'] > 0).mean() > 0.9, 'the camera is inside a closed room'
    # observed free space lies in front of surfaces (+), occupied voxels are never observed free space
    assert (t[lab > 0] <= 0.5).all()
    f = flip_tsdf(t)
    active = f != 0
    assert 0.01 < active.mean() < 0.3, 'the flipped TSDF is sparse: non-zero only near observed surfaces'
    assert np.allclose(np.abs(f[active]), 1 - np.abs(t[active]))


def test_downsample_rules():
    lab = np.zeros((4, 4, 4), np.uint8)
    lab[0, 0, 0] = 5  # 1 of 8 voxels occupied: not more than 95 % empty -> the non-empty label
    lab[2:, 2:, 2:] = 255  # an all-invalid block
    out = downsample_label(lab, 2)
    assert out[0, 0, 0] == 5 and out[1, 1, 1] == 255 and out[1, 0, 0] == 0
    big = np.zeros((8, 8, 8), np.uint8)
    big[0, 0, 0] = 3  # 1 of 512 voxels: > 95 % empty -> empty
    assert downsample_label(big, 8)[0, 0, 0] == 0
    t = np.full((4, 4, 4), 0.5, np.float32)
    t[:2, :2, :2] = -1
    dt = downsample_tsdf(t, 2)
    assert dt[0, 0, 0] == -1 and dt[1, 1, 1] == pytest.approx(0.5)
    with pytest.raises(ValueError, match='divisible'):
        downsample_label(np.zeros((5, 4, 4), np.uint8), 2)


def test_dataset_items(tmp_path):
    from mmengine.registry import init_default_scope
    from mmseg.registry import DATASETS
    import mmext  # noqa: F401
    init_default_scope('mmseg')
    root = str(tmp_path) + '/'
    cfg = dict(num_train=2, num_val=1, shape=(32, 16, 32), seed=2, splits=['train'])
    ds = DATASETS.build(dict(type='Shapes3DSSCDataset', data_root=root, shapes3d_cfg=cfg,
                             data_prefix=dict(scenes='scenes/train')))
    assert len(ds) == 2 and ds.metainfo['classes'][0] == 'empty'
    item = ds[0]
    assert item['inputs'].shape == (32, 16, 32)
    s = item['data_samples']
    assert s.gt_label.shape == (8, 4, 8) and s.gt_label_low.shape == (4, 2, 4) and s.tsdf.shape == (8, 4, 8)
    with pytest.raises(ValueError, match='generated with'):
        ensure_shapes3d(root, dict(cfg, seed=3))
    with pytest.raises(FileNotFoundError, match='no .npz scenes'):
        DATASETS.build(dict(type='SSCDataset', data_root=root, data_prefix=dict(scenes='nowhere')))


def test_voxel_selection_on_a_hand_made_grid():
    label = torch.zeros(6, 6, 6, dtype=torch.long)
    label[1:5, 1:5, 1:5] = 3  # a 4x4x4 block: its 8 inner voxels see only label 3 -> easy positives
    label[0, 0, 0] = 255
    tsdf = torch.full((6, 6, 6), -1.0)
    tsdf[5] = 0.5  # a slab of observed free space near the surface -> hard-negative candidates
    tsdf[0, 5, 5] = 0.995  # free but too far from a surface: not a hard negative
    sel = select_voxels(label, tsdf, generator=torch.Generator().manual_seed(0))
    n_hard = 64 - 8
    assert int(sel['hard_pos'].sum()) == n_hard and not sel['hard_pos'][2:4, 2:4, 2:4].any()
    assert int(sel['easy_pos'].sum()) == int(0.1 * n_hard) == 5, "the release's int truncation"
    assert sel['easy_pos'][2:4, 2:4, 2:4].sum() == sel['easy_pos'].sum()
    # release data.py: neg = int(min(2 * #pos, 36 / 0.9)) = 40, hard = int(min(40 * 0.9, 36)) = 36, easy = 4
    assert int(sel['hard_neg'].sum()) == 36, 'all 36 candidates'
    assert (tsdf[sel['hard_neg']] == 0.5).all() and (label[sel['hard_neg']] == 0).all()
    assert int(sel['easy_neg'].sum()) == 4, 'negatives are capped at #candidates / 0.9 when candidates are scarce'
    assert not sel['selected'][0, 0, 0], 'invalid voxels are never selected'
    assert not (sel['easy_neg'] & sel['hard_neg']).any()


def test_voxel_selection_counts_with_plenty_of_candidates():
    """With many hard-negative candidates the cap does not bind: neg = int(2 * #pos), 90 % of them hard."""
    label = torch.zeros(10, 10, 10, dtype=torch.long)
    label[4:6, 4:6, 4:6] = 2  # 8 voxels, all hard positives (each sees empty neighbours)
    tsdf = torch.full((10, 10, 10), 0.5)
    sel = select_voxels(label, tsdf, generator=torch.Generator().manual_seed(1))
    assert int(sel['hard_pos'].sum()) == 8 and int(sel['easy_pos'].sum()) == 0
    assert int(sel['hard_neg'].sum()) == int(16 * 0.9) == 14 and int(sel['easy_neg'].sum()) == 2


def test_loss_on_empty_scene_is_zero_with_gradient():
    loss = SSCSelectedCELoss()
    logits = torch.randn(1, 12, 4, 4, 4, requires_grad=True)
    logits_low = torch.randn(1, 12, 2, 2, 2, requires_grad=True)
    zeros = torch.zeros(1, 4, 4, 4, dtype=torch.long)
    out = loss(logits, logits_low, zeros, torch.zeros(1, 2, 2, 2, dtype=torch.long), torch.zeros(1, 4, 4, 4))
    assert out['loss_ssc'] == 0 and out['loss_ssc_low'] == 0
    sum(out.values()).backward()
    assert logits.grad is not None


def test_loss_value_matches_manual_ce():
    torch.manual_seed(0)
    loss = SSCSelectedCELoss(easy_ratio=0, neg_ratio=0)  # only hard positives
    label = torch.zeros(1, 4, 4, 4, dtype=torch.long)
    label[0, 1, 1, 1] = 7
    logits = torch.randn(1, 12, 4, 4, 4)
    out = loss(logits, torch.randn(1, 12, 2, 2, 2), label, torch.zeros(1, 2, 2, 2, dtype=torch.long),
               torch.zeros(1, 4, 4, 4))
    expect = torch.nn.functional.cross_entropy(logits[:, :, 1, 1, 1], torch.tensor([7]))
    torch.testing.assert_close(out['loss_ssc'], expect)


def test_metric_on_a_known_case():
    gt = torch.zeros(4, 4, 4, dtype=torch.long)
    pred = torch.zeros_like(gt)
    tsdf = torch.full((4, 4, 4), -0.5)  # all occluded ...
    tsdf[3] = 0.5  # ... except one observed slab, which is not evaluated
    gt[0, :2, :2] = 5  # 4 chair voxels
    pred[0, :2, 0] = 5  # 2 of them predicted chair
    pred[0, 2, 0] = 6  # 1 false positive (bed)
    gt[1, 0, 0] = 6  # 1 bed voxel predicted empty
    pred[3] = 8  # predictions in the observed slab are ignored
    metric = SSCMetric(num_classes=12, class_names=[str(i) for i in range(12)])
    metric.process(None, [dict(pred_label=pred, gt_label=gt, tsdf=tsdf)])
    res = metric.compute_metrics(metric.results)
    # SC: tp = 2, fp = 1, fn = 2 + 1 = 3
    assert res['sc_iou'] == pytest.approx(100 * 2 / 6)
    assert res['sc_precision'] == pytest.approx(100 * 2 / 3) and res['sc_recall'] == pytest.approx(40.0)
    assert res['iou_5'] == pytest.approx(50.0) and res['iou_6'] == pytest.approx(0.0)
    assert res['ssc_miou'] == pytest.approx(25.0), 'mean over the classes present (5 and 6)'
    with pytest.raises(ValueError, match='eval_region'):
        SSCMetric(eval_region='visible')
