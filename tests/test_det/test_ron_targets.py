"""RON's targets against cases worked out by hand from the release's logic.

``lib/ron_layer/anchor_target_layer.py`` / ``det_target_layer.py`` (labels, batch-level sampling, box targets),
``lib/fast_rcnn/bbox_transform.py`` (plain deltas, ``filter_boxes``), ``models/pascalvoc/VGG16-REDUCED``.
"""
import math

import pytest
import torch
from mmdet.models.task_modules.assigners import MaxIoUAssigner
from mmdet.registry import MODELS, TASK_UTILS
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData

from tests.conftest import REPO

A = 10


def _head(num_classes=2, **kw):
    init_default_scope('mmdet')
    cfg = dict(type='RONHead', num_classes=num_classes, in_channels=8, tower_channels=8, cls_channels=8,
               anchor_generator=dict(type='RONAnchorGenerator', base_size=8))
    cfg.update(kw)
    return MODELS.build(cfg)


def _gt(boxes, labels):
    return InstanceData(bboxes=torch.tensor(boxes, dtype=torch.float32), labels=torch.tensor(labels))


def _metas(n, size=200):
    return [dict(img_shape=(size, size), ori_shape=(size, size), scale_factor=(1., 1.)) for _ in range(n)]


def _assign(assigner, anchors, gt):
    return assigner.assign(InstanceData(priors=torch.tensor(anchors)), gt).gt_inds.tolist()


# ------------------------------------------------------------------------------------------- assigner
def test_strict_thresholds_of_the_release():
    """negatives need 0.001 < IoU (strict), best anchors IoU > 0.1 / > 0.3 (strict); mmdet uses >=."""
    init_default_scope('mmdet')
    obj = TASK_UTILS.build(dict(type='RONAssigner', pos_iou_thr=0.5, neg_iou_thr=(0.001, 0.3), min_pos_iou=0.1))
    cls = TASK_UTILS.build(dict(type='RONAssigner', pos_iou_thr=0.6, neg_iou_thr=0.3, min_pos_iou=0.3,
                                best_anchor_gt='own'))
    # GT of area 10000: IoU 10/10000 = 0.001 exactly (float32), 3000/10000 = 0.3, 5000/10000 = 0.5
    big = _gt([[0., 0., 100., 100.]], [0])
    anchors = [[0., 0., 1., 10.], [0., 0., 100., 30.], [0., 0., 100., 50.]]
    assert _assign(obj, anchors, big) == [-1, -1, 1], '0.001 is not a negative, 0.3 is not, 0.5 is positive'
    mmdet = MaxIoUAssigner(pos_iou_thr=0.5, neg_iou_thr=(0.001, 0.3), min_pos_iou=0.1, gt_max_assign_all=False)
    assert _assign(mmdet, anchors, big)[0] == 0, 'mmdet counts IoU == 0.001 as negative'
    # the only overlapping anchor of a GT has IoU exactly 0.1 / 0.3: not > min_pos_iou, so not positive
    small = _gt([[0., 0., 10., 10.]], [0])
    assert _assign(obj, [[0., 0., 1., 10.], [50., 50., 60., 60.]], small) == [0, -1]
    mmdet = MaxIoUAssigner(pos_iou_thr=0.5, neg_iou_thr=(0.001, 0.3), min_pos_iou=0.1, gt_max_assign_all=False)
    assert _assign(mmdet, [[0., 0., 1., 10.], [50., 50., 60., 60.]], small)[0] == 1
    # classes: IoU 0.3 is neither background (< 0.3) nor a best anchor (> 0.3): ignored; IoU 0 is background
    assert _assign(cls, [[0., 0., 3., 10.], [50., 50., 60., 60.]], small) == [-1, 0]


def test_best_anchor_gt_max_iou_or_own():
    """Anchor X = [0,0,10,18]: IoU 0.556 with A = [0,0,10,10] (its max) and 0.45 with B = [0,0,10,40], whose best
    anchor it is. Box targets (anchor_target_layer) go to the max-IoU GT, class labels (det_target_layer) to B."""
    init_default_scope('mmdet')
    gts = _gt([[0., 0., 10., 10.], [0., 0., 10., 40.]], [0, 1])
    anchors = [[0., 0., 10., 10.], [0., 0., 10., 18.]]
    kw = dict(pos_iou_thr=0.6, neg_iou_thr=0.3, min_pos_iou=0.3)
    assert _assign(TASK_UTILS.build(dict(type='RONAssigner', best_anchor_gt='max_iou', **kw)), anchors, gts) == [1, 1]
    assert _assign(TASK_UTILS.build(dict(type='RONAssigner', best_anchor_gt='own', **kw)), anchors, gts) == [1, 2]


def test_assigner_bad_arguments_are_named():
    from mmext.det import RONAssigner
    with pytest.raises(ValueError, match='best_anchor_gt'):
        RONAssigner(0.5, 0.3, 0.1, best_anchor_gt='mine')
    with pytest.raises(ValueError, match='neg_iou_thr'):
        RONAssigner(0.5, (0.3, 0.001), 0.1)


# ------------------------------------------------------------------------------------------- box encoding
def test_box_targets_are_plain_deltas():
    """Anchor [0,0,16,16] (centre 8,8) and GT [4,2,20,34] (centre 12,18, 16x32), IoU 168/600 = 0.28: the GT's
    best anchor, so positive. bbox_transform: dx = 4/16, dy = 10/16, dw = log 1, dh = log 2 (no 0.1/0.2 stds)."""
    head = _head()
    anchors = torch.tensor([[0., 0., 16., 16.], [100., 100., 116., 116.]])
    gt = _gt([[4., 2., 20., 34.]], [0])
    obj, targets, _ = head._get_targets_single(anchors, 0, gt, _metas(1)[0], None)
    assert obj.tolist() == [1, -1]
    expected = torch.tensor([0.25, 0.625, 0., math.log(2.)])
    torch.testing.assert_close(targets[0], expected)
    torch.testing.assert_close(head.bbox_coder.decode(anchors[:1], expected[None]), gt.bboxes)
    # SmoothL1 with Caffe's sigma 3 (beta 1/9) of a zero prediction: |d| - 1/18 per coordinate above 1/9
    loss = head.loss_bbox(torch.zeros(1, 4), expected[None], avg_factor=1)
    torch.testing.assert_close(loss, torch.tensor(0.25 + 0.625 + math.log(2.) - 3 / 18))


# ------------------------------------------------------------------------------------------- batch sampling
def _batch_case():
    """Image 0: GT0 = [0,0,10,10] with 2 positive anchors (IoU 1, 10/11) and 20 negatives (IoU 0.09..0.05);
    image 1: GT1 = [100,100,110,110] with 30 negatives and no positive (its best IoU 0.09 is not > 0.1).
    Anchors that do not overlap an image's GT at all are ignored there."""
    negs0 = [[5., 5., 10. + i, 25.] for i in range(5, 25)]
    negs1 = [[105., 105., 110. + i, 125.] for i in range(5, 35)]
    anchors = torch.tensor([[0., 0., 10., 10.], [0., 0., 10., 11.]] + negs0 + negs1)
    gts = [_gt([[0., 0., 10., 10.]], [0]), _gt([[100., 100., 110., 110.]], [1])]
    return anchors, gts


def test_batch_level_sampling_keeps_all_positives_and_three_negatives_each():
    # budget 4: the old per-image sampling capped positives at 0.25 x 4 = 1 and gave image 1 its own 4 negatives
    head = _head(train_cfg=dict(num_samples=(4, 4, 4, 4)))
    anchors, gts = _batch_case()
    obj_prob = torch.ones(2, anchors.size(0))
    for _ in range(5):  # random subsets, same counts
        obj, targets, weights, cls = head.get_level_targets(anchors, 0, obj_prob, gts, _metas(2), None)
        assert (obj == 1).sum(1).tolist() == [2, 0], 'every positive kept, none created on image 1'
        assert int((obj == 0).sum()) == 6, '3 x the batch positives, pooled over both images'
        assert (obj[1, :22] == -1).all() and (obj[0, 22:] == -1).all(), "IoU-0 anchors are never negatives"
        sampled0 = int((obj[0] >= 0).sum())
        torch.testing.assert_close(weights[0, :2], torch.full((2, ), 1. / sampled0))
        assert (weights[0, 2:] == 0).all() and (weights[1] == 0).all()
        # classes: image 0 has 2 positives and 50 background (IoU-0 anchors are background for classes),
        # image 1 52 background: 3 x 2 = 6 background over the batch
        assert (cls == 0).sum().item() == 2 and (cls == 2).sum().item() == 6


def test_batch_without_positive_uses_the_level_budget_once():
    head = _head(train_cfg=dict(num_samples=(4, 4, 5, 5)))
    anchors, gts = _batch_case()
    gts = [gts[1], gts[1]]  # no positive anywhere in the batch
    obj, _, weights, cls = head.get_level_targets(anchors, 2, torch.ones(2, anchors.size(0)), gts, _metas(2), None)
    assert int((obj == 1).sum()) == 0 and int((obj == 0).sum()) == 5, 'budget 5 for the batch, not per image'
    assert int((cls >= 0).sum()) == 5 and (weights == 0).all()


def test_objectness_prior_before_the_class_sampling():
    head = _head()
    anchors, gts = _batch_case()
    obj_prob = torch.ones(2, anchors.size(0))
    obj_prob[0, 0] = 0.0299  # below TRAIN.PROB 0.03: the exact anchor drops out of the class loss
    obj_prob[0, 1] = 0.03  # not below: kept
    _, _, _, cls = head.get_level_targets(anchors, 0, obj_prob, gts, _metas(2), None)
    assert cls[0, 0] == -1 and cls[0, 1] == 0
    assert (cls == 2).sum().item() == 3, '3 x the one remaining positive'


# ------------------------------------------------------------------------------------------- test-time filter
def test_aspect_ratio_filter_of_filter_boxes():
    """16x16 anchors (a=5, level 0) at (3,3) and (3,6); dw = log 0.5, dh = log 3.25 gives 8x52 (w/h 0.154 < 0.167:
    dropped), dh = log 2.5 gives 8x40 (0.2: kept). Both fit inside the 64x64 image."""
    head = _head(num_classes=1)
    sizes = (8, 4, 2, 1)
    obj = [torch.zeros(1, 2 * A, s, s) for s in sizes]
    for o in obj:
        o[:, :A], o[:, A:] = 10., -10.
    cls = [torch.zeros(1, 2 * A, s, s) for s in sizes]
    box = [torch.zeros(1, 4 * A, s, s) for s in sizes]
    for x, dh in ((3, math.log(3.25)), (6, math.log(2.5))):
        obj[0][0, 5, 3, x], obj[0][0, A + 5, 3, x] = -10., 10.
        box[0][0, 5 * 4 + 2, 3, x], box[0][0, 5 * 4 + 3, 3, x] = math.log(0.5), dh
    res = head.predict_by_feat(obj, box, cls, _metas(1, 64), cfg=dict(min_bbox_size=0))[0]
    assert len(res) == 1
    torch.testing.assert_close(res.bboxes[0], torch.tensor([3.5 + 48 - 4, 27.5 - 20, 3.5 + 48 + 4, 27.5 + 20]))
    res = head.predict_by_feat(obj, box, cls, _metas(1, 64), cfg=dict(min_bbox_size=0, min_aspect_ratio=0))[0]
    assert len(res) == 2


# ------------------------------------------------------------------------------------------- REDUCED network
def _conv(cin, cout, k, bias=True):
    return cin * cout * k * k + (cout if bias else 0)


def test_reduced_network_shapes_and_parameter_count():
    """VGG16-REDUCED/traincudnn.prototxt: 1x1 laterals (rpn_conv4/5/6), towers 1x1/256, class convs 256 wide."""
    import mmext  # noqa: F401
    init_default_scope('mmdet')
    cfg = Config.fromfile(f'{REPO}/configs/ron/ron320_vgg16-reduced_1xb30-120k_voc0712.py')
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model)
    assert [m.conv.kernel_size for m in model.neck.lateral_convs] == [(1, 1)] * 3
    assert model.bbox_head.obj_towers[0].conv.kernel_size == (1, 1)
    assert model.bbox_head.obj_towers[0].conv.out_channels == 256
    assert model.bbox_head.cls_towers[0][1].conv3x3.out_channels == 256
    assert model.backbone.frozen_stages == 2 and not model.backbone.features[0].weight.requires_grad
    assert model.backbone.features[10].weight.requires_grad, 'conv3_1 trains'
    bn = 2  # weight + bias of a BN channel (convs before BN have no bias here; Caffe's have one)
    neck = _conv(1024, 512, 2, False) + 512 * bn + sum(_conv(c, 512, 1, False) + 512 * bn for c in (512, 512, 1024))
    neck += 3 * _conv(512, 512, 2)  # deconvs
    tower = _conv(512, 256, 1, False) + 256 * bn
    cls_block = _conv(512, 256, 3, False) + _conv(512, 256, 1, False) + 512 * bn
    head = 4 * (tower + _conv(256, 20, 3) + tower + _conv(256, 40, 3) + 2 * cls_block + _conv(512, 210, 3))
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(model.neck) == neck
    assert count(model.bbox_head) == head
    widths = [3, 64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512]
    vgg = sum(_conv(a, b, 3) for a, b in zip(widths[:-1], widths[1:])) + _conv(512, 1024, 3) + _conv(1024, 1024, 1)
    assert count(model.backbone) == vgg == 20_483_904  # conv1_1..conv5_3 + reduced fc6 / fc7 (mmdet SSD's VGG)
    assert count(model) == vgg + neck + head
