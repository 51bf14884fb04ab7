"""RONHead: assignment, sampling, objectness gating, losses, decoding, stability; RON detector forward modes."""
import math

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.testing import demo_mm_inputs
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData

A = 10  # anchors per location


def tiny_ron(num_classes=5, **head_kw):
    """A tiny RON (VGG-16 at 1/8 width with BN, 32-channel pyramid) on 64x64 images; anchors on base 8."""
    head = dict(type='RONHead', num_classes=num_classes, in_channels=32, tower_channels=16, cls_channels=16,
                anchor_generator=dict(type='RONAnchorGenerator', base_size=8))
    head.update(head_kw)
    return dict(
        type='SingleStageDetector',
        data_preprocessor=dict(type='DetDataPreprocessor', mean=[102.98, 115.95, 122.77], std=[1., 1., 1.],
                               bgr_to_rgb=False, pad_size_divisor=64),
        backbone=dict(type='RONVGG', widen_factor=0.125, norm_cfg=dict(type='BN')),
        neck=dict(type='RONNeck', in_channels=(64, 64, 128, 128), out_channels=32),
        bbox_head=head)


def _head(num_classes=2, **kw):
    init_default_scope('mmdet')
    cfg = dict(type='RONHead', num_classes=num_classes, in_channels=8, tower_channels=8, cls_channels=8,
               anchor_generator=dict(type='RONAnchorGenerator', base_size=8))
    cfg.update(kw)
    head = MODELS.build(cfg)
    head.init_weights()
    return head


def _feats(n=2, sizes=(8, 4, 2, 1), ch=8):
    return [torch.randn(n, ch, s, s) for s in sizes]


def _metas(n=2, size=64):
    return [dict(img_shape=(size, size), ori_shape=(size, size), scale_factor=(1., 1.), pad_shape=(size, size))
            for _ in range(n)]


def _gt(boxes, labels):
    return InstanceData(bboxes=torch.tensor(boxes, dtype=torch.float32), labels=torch.tensor(labels))


# ------------------------------------------------------------------------------------------- detector modes
@pytest.fixture
def detector():
    init_default_scope('mmdet')
    model = MODELS.build(tiny_ron())
    model.init_weights()
    return model


# batch 1 on 128x128: BN needs more than one value per channel on the 1x1 stride-64 level of a 64x64 image
@pytest.mark.parametrize('num_items,size', [([3, 2], 64), ([2, 0], 64), ([1], 128)],
                         ids=['batch2', 'empty-gt', 'batch1'])
def test_loss_mode_all_params_get_gradients(detector, num_items, size):
    packed = demo_mm_inputs(len(num_items), image_shapes=(3, size, size), num_items=num_items, num_classes=5)
    data = detector.data_preprocessor(packed, True)
    losses = detector(**data, mode='loss')
    assert set(losses) == {'loss_obj', 'loss_bbox', 'loss_cls'}
    assert all(len(v) == 4 for v in losses.values()), '4 levels x 3 terms'
    total = sum(sum(v) for v in losses.values())
    assert torch.isfinite(total) and sum(losses['loss_obj']) > 0 and sum(losses['loss_cls']) > 0
    total.backward()
    missing = [n for n, p in detector.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing, missing


def test_empty_gt_has_no_box_loss(detector):
    packed = demo_mm_inputs(2, image_shapes=(3, 64, 64), num_items=[0, 0], num_classes=5)
    losses = detector(**detector.data_preprocessor(packed, True), mode='loss')
    assert sum(losses['loss_bbox']).item() == 0
    assert sum(losses['loss_obj']) > 0 and sum(losses['loss_cls']) > 0, 'background is still learnt'


@pytest.mark.parametrize('batch', [1, 2])
def test_predict_and_tensor_modes(detector, batch):
    detector.eval()
    packed = demo_mm_inputs(batch, image_shapes=(3, 64, 64), num_items=[2] * batch, num_classes=5)
    data = detector.data_preprocessor(packed, False)
    with torch.no_grad():
        results = detector(**data, mode='predict')
        obj, box, cls = detector(**data, mode='tensor')
    assert len(results) == batch
    for res in results:
        pred = res.pred_instances
        assert pred.bboxes.shape[1] == 4 and len(pred.scores) == len(pred.labels)
        assert ((pred.scores > 0) & (pred.scores <= 1)).all() and (pred.labels < 5).all()
    sizes = [(8, 8), (4, 4), (2, 2), (1, 1)]
    assert [tuple(t.shape) for t in obj] == [(batch, 2 * A) + s for s in sizes]
    assert [tuple(t.shape) for t in box] == [(batch, 4 * A) + s for s in sizes]
    assert [tuple(t.shape) for t in cls] == [(batch, 6 * A) + s for s in sizes]


# ------------------------------------------------------------------------------------------- targets
def test_two_assignments_thresholds_and_border():
    head = _head(num_classes=3)
    gt = _gt([[0., 0., 10., 10.]], [2])
    anchors = torch.tensor([
        [0., 0., 10., 10.],    # IoU 1     -> obj pos, cls pos
        [0., 0., 10., 18.],    # IoU .556  -> obj pos, cls ignored (0.3..0.6)
        [0., 0., 10., 30.],    # IoU .333  -> obj ignored (0.3..0.5), cls ignored
        [0., 0., 10., 40.],    # IoU .25   -> obj neg, cls background
        [50., 50., 60., 60.],  # IoU 0     -> obj ignored (negatives need IoU > 0.001), cls background
        [-20., 0., 5., 10.],   # crosses the border by 20 > 4 px -> ignored by both
    ])
    obj, targets, cls = head._get_targets_single(anchors, 0, gt, _metas(1, 100)[0], None)
    assert obj.tolist() == [1, 1, -1, 0, -1, -1]
    assert cls.tolist() == [2, -1, -1, 3, 3, -1]
    assert torch.allclose(targets[0], torch.zeros(4)) and targets[1, 3] < 0  # the taller anchor shrinks
    assert (targets[2:] == 0).all(), 'box targets only on objectness positives'


def test_objectness_prior_gates_the_class_loss():
    head = _head()
    feats = _feats()
    gts = [_gt([[4., 4., 30., 30.], [30., 20., 60., 50.]], [0, 1]), _gt([[10., 10., 40., 30.]], [1])]
    obj, box, cls = head(feats)
    low = [torch.cat([torch.full_like(o[:, :A], 10.), torch.full_like(o[:, A:], -10.)], 1) for o in obj]
    losses = head.loss_by_feat(low, box, cls, gts, _metas())
    assert all(v.item() == 0 for v in losses['loss_cls']), 'p_obj < 0.03 everywhere: nothing left to classify'
    assert sum(losses['loss_obj']) > 0
    high = [-t for t in low]
    losses = head.loss_by_feat(high, box, cls, gts, _metas())
    assert sum(losses['loss_cls']) > 0


def test_extreme_logits_stay_finite():
    head = _head()
    feats = [f.requires_grad_(True) for f in _feats()]
    gts = [_gt([[4., 4., 30., 30.]], [0]), _gt([[10., 10., 40., 30.]], [1])]
    for sign in (1., -1.):
        obj, box, cls = head(feats)
        obj = [o * 0 + sign * 1e4 * torch.sign(torch.randn_like(o)) + o for o in obj]
        cls = [c * 1e4 for c in cls]
        box = [b * 1e4 for b in box]
        losses = head.loss_by_feat(obj, box, cls, gts, _metas())
        total = sum(sum(v) for v in losses.values())
        assert torch.isfinite(total)
        grads = torch.autograd.grad(total, feats)
        assert all(torch.isfinite(g).all() for g in grads)
        with torch.no_grad():
            preds = head.predict_by_feat(obj, box, cls, _metas(), rescale=True)
        assert all(torch.isfinite(p.bboxes).all() and torch.isfinite(p.scores).all() for p in preds)


# ------------------------------------------------------------------------------------------- decoding
def _index(y, x, a, w):
    return y, x, a, (y * w + x) * A + a


def test_decoding_product_scores_min_size_and_per_class_cap():
    head = _head(num_classes=2)
    sizes = (8, 4, 2, 1)
    obj = [torch.zeros(1, 2 * A, s, s) for s in sizes]
    for o in obj:
        o[:, :A], o[:, A:] = 10., -10.  # objectness ~ 2e-9 everywhere ...
    cls = [torch.zeros(1, 3 * A, s, s) for s in sizes]
    box = [torch.zeros(1, 4 * A, s, s) for s in sizes]

    def set_anchor(y, x, a, p_obj, cls_logit0=2.):
        obj[0][0, a, y, x], obj[0][0, A + a, y, x] = 0., math.log(p_obj / (1 - p_obj))
        cls[0][0, 0 * A + a, y, x] = cls_logit0

    # ... except: two 16x16 anchors (a=5) far apart, one 8x8 anchor (a=4, below min size 10), one with p_obj 0.02
    set_anchor(3, 3, 5, 0.8)
    set_anchor(3, 6, 5, 0.6)
    set_anchor(0, 0, 4, 0.9)
    set_anchor(6, 6, 5, 0.02)
    res = head.predict_by_feat(obj, box, cls, _metas(1))[0]
    p0 = math.exp(2) / (math.exp(2) + 2)  # class 0 probability (background is the third logit)
    p1 = 1 / (math.exp(2) + 2)
    expected = sorted([0.8 * p0, 0.6 * p0, 0.8 * p1, 0.6 * p1], reverse=True)
    torch.testing.assert_close(res.scores.sort(descending=True)[0], torch.tensor(expected), rtol=1e-4, atol=1e-6)
    centre = 3.5 + 3 * 8
    assert torch.allclose(res.bboxes[0], torch.tensor([centre - 8, centre - 8, centre + 8, centre + 8]))
    assert sorted(res.labels.tolist()) == [0, 0, 1, 1]
    capped = head.predict_by_feat(obj, box, cls, _metas(1), cfg=dict(max_per_class=1))[0]
    assert sorted(capped.labels.tolist()) == [0, 1]
    torch.testing.assert_close(capped.scores.max(), torch.tensor(0.8 * p0))
    # per-class NMS: a 16x16 box shifted by 8 px (IoU 1/3) survives NMS 0.4, not NMS 0.3; classes never mix
    set_anchor(3, 4, 5, 0.7)
    assert len(head.predict_by_feat(obj, box, cls, _metas(1))[0]) == 6
    res = head.predict_by_feat(obj, box, cls, _metas(1), cfg=dict(nms=dict(type='nms', iou_threshold=0.3)))[0]
    assert len(res) == 4 and sorted(res.labels.tolist()) == [0, 0, 1, 1]


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match='softmax'):
        _head(loss_cls=dict(type='FocalLoss', use_sigmoid=True))
    with pytest.raises(ValueError, match='allowed_border'):
        _head(train_cfg=dict(allowed_border=(4, 8)))
    with pytest.raises(ValueError, match='expected 4 feature levels'):
        _head()(_feats()[:3])
    with pytest.raises(ValueError, match=r'in_channels=8, but feature level 2 has 6 channels'):
        _head()([f if i != 2 else f[:, :6] for i, f in enumerate(_feats())])
    with pytest.raises(ValueError, match='pos_fraction is not used'):
        _head(train_cfg=dict(pos_fraction=0.25))
