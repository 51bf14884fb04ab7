"""Group R-CNN model: grouping, instance-level assignment, one box per point, zero points, batch 1, every forward
mode, gradients (and none from the RoI head into the backbone), the COCO configs' parameter counts."""
import glob

import pytest
import torch
from mmengine.config import Config
from mmengine.structures import InstanceData

from mmext.det.group_rcnn import InstanceLevelAssigner, PointProposalGrouper
from tests.conftest import REPO

SHAPES_CFG = f'{REPO}/configs/group_rcnn/group-rcnn_r18-c32_fpn_1xb4-12e_shapes-10p.py'


def _tiny_model(num_classes=5):
    from mmdet.registry import MODELS
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')
    cfg = Config.fromfile(SHAPES_CFG)
    m = cfg.model
    m.backbone.update(depth=18, base_channels=8)
    m.neck.update(in_channels=[16, 32, 64], out_channels=32)
    m.rpn_head.update(num_classes=num_classes, in_channels=32, feat_channels=32, stacked_convs=1)
    m.roi_head.update(num_classes=num_classes, norm_groups=8)
    m.roi_head.bbox_roi_extractor.out_channels = 32
    m.roi_head.bbox_head.update(in_channels=32, fc_out_channels=32, num_classes=num_classes)
    m.rpn_nms_topk = 8
    torch.manual_seed(0)
    model = MODELS.build(m)
    model.init_weights()
    return model


def _batch(model, boxes_per_img, size=64):
    from mmdet.structures import DetDataSample
    from mmdet.structures.bbox import HorizontalBoxes
    g = torch.Generator().manual_seed(1)
    inputs, samples = [], []
    for boxes in boxes_per_img:
        boxes = torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4)
        n = len(boxes)
        inputs.append(torch.randint(0, 255, (3, size, size), generator=g).float())
        sample = DetDataSample(metainfo=dict(img_shape=(size, size), ori_shape=(size, size),
                                             scale_factor=(1., 1.), pad_shape=(size, size),
                                             batch_input_shape=(size, size)))
        centre = (boxes[:, :2] + boxes[:, 2:]) / 2
        sample.gt_instances = InstanceData(bboxes=HorizontalBoxes(boxes), labels=torch.arange(n) % 5,
                                           points=centre)
        sample.ignored_instances = InstanceData(bboxes=HorizontalBoxes(torch.zeros(0, 4)),
                                                labels=torch.zeros(0, dtype=torch.long))
        samples.append(sample)
    return dict(inputs=torch.stack(inputs), data_samples=samples)


def _total(losses):
    return sum((sum(v) if isinstance(v, list) else v) for k, v in losses.items() if 'loss' in k)


def test_grouping_topk_per_point_and_only_the_points_class():
    model = _tiny_model()
    data = _batch(model, [[[4, 4, 30, 30], [30, 20, 60, 50], [10, 40, 30, 62]]])
    x = model.extract_feat(data['inputs'])
    cls_scores, bbox_preds = model.rpn_head(x)
    points = [data['data_samples'][0].gt_instances.points]
    labels = [torch.tensor([1, 3, 1])]
    grouper = PointProposalGrouper(pre_topk=3, iou_threshold=0.7, topk=5)
    boxes, scores, valid = grouper(model.rpn_head, cls_scores, bbox_preds, points, labels,
                                   [dict(img_shape=(64, 64))])[0]
    assert boxes.shape == (3, 5, 4) and valid.sum(1).le(5).all() and valid.any(1).all()
    # candidates: 3 locations x 9 anchors x 3 levels per point; their score is the sigmoid of the point's class
    cand_boxes, cand_scores = grouper.candidates(model.rpn_head, cls_scores, bbox_preds, 0, points[0], labels[0],
                                                 (64, 64))
    assert cand_scores.shape == (3, 3 * 9 * 3)
    for i in range(3):
        kept = scores[i][valid[i]]
        assert torch.all(kept[:-1] >= kept[1:]), 'best first'
        for s in kept:  # each kept score is one of the point's own candidates (its own class)
            assert torch.isclose(cand_scores[i], s).any()
    # with topk larger than the candidates, the rest is zero padding
    boxes, scores, valid = PointProposalGrouper(topk=100)(model.rpn_head, cls_scores, bbox_preds, points, labels,
                                                         [dict(img_shape=(64, 64))])[0]
    assert boxes.shape == (3, 100, 4) and not valid[:, 81:].any() and (boxes[~valid] == 0).all()


def test_grouping_nms_is_per_class_across_groups():
    grouper = PointProposalGrouper(topk=3, iou_threshold=0.5)
    box = torch.tensor([0., 0., 10., 10.])
    boxes = torch.stack([box, box + 20]).expand(3, 2, 4).clone()
    scores = torch.tensor([[0.9, 0.1], [0.8, 0.2], [0.7, 0.3]])
    labels = torch.tensor([0, 0, 1])
    out_boxes, out_scores, valid = grouper.select(boxes, scores, labels)
    # class 0: point 0's box (0.9) suppresses point 1's copy (0.8); point 1's far box (0.2) suppresses point 0's
    # (0.1). Point 2 (class 1) is not touched by the class-0 groups and keeps both.
    assert valid.sum(1).tolist() == [1, 1, 2]
    assert torch.allclose(out_scores[:2, 0], torch.tensor([0.9, 0.2])) and torch.equal(out_boxes[1, 0], box + 20)
    assert torch.allclose(out_scores[2, :2], torch.tensor([0.7, 0.3]))


def test_instance_level_assignment_hand_made_case():
    gts = torch.tensor([[0., 0., 10., 10.], [20., 20., 40., 40.]])
    rois = torch.tensor([[0., 0., 10., 10.],      # own gt 0: IoU 1 -> positive
                         [0., 0., 10., 5.],       # own gt 0: IoU 0.5 -> not > 0.5 -> background
                         [20., 20., 40., 40.],    # own gt 0, but it is exactly gt 1 -> background (own only)
                         [21., 21., 40., 40.]])   # own gt 1: IoU 0.9025 -> positive
    own = torch.tensor([0, 0, 0, 1])
    labels, pos, ious = InstanceLevelAssigner(0.5).assign(rois, gts[own], torch.tensor([3, 3, 3, 1]), 5)
    assert pos.tolist() == [True, False, False, True]
    assert labels.tolist() == [3, 5, 5, 1]
    assert torch.allclose(ious, torch.tensor([1., 0.5, 0., 0.9025]))
    labels, pos, _ = InstanceLevelAssigner(0.95).assign(rois, gts[own], torch.tensor([3, 3, 3, 1]), 5)
    assert pos.tolist() == [True, False, False, False]
    with pytest.raises(ValueError, match='aligned'):
        InstanceLevelAssigner(0.5).assign(rois, gts, own, 5)


def test_all_modes_one_box_per_point_gradients_and_detached_backbone():
    model = _tiny_model()
    model.train()
    data = model.data_preprocessor(_batch(model, [[[4, 4, 30, 30], [30, 20, 60, 50]], [[8, 8, 50, 60]]]), True)
    losses = model(**data, mode='loss')
    for key in ('rpn_loss_cls', 'rpn_loss_bbox', 's0.loss_cls', 's0.loss_bbox', 's2.loss_cls'):
        assert key in losses
    total = _total(losses)
    assert torch.isfinite(total)
    total.backward()
    missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing, missing
    # the RoI head alone does not reach the backbone / neck / RetinaHead (the features are detached)
    model.zero_grad(set_to_none=True)
    losses = model(**data, mode='loss')
    sum(v for k, v in losses.items() if k.startswith('s') and 'loss' in k).backward()
    reached = {n.split('.')[0] for n, p in model.named_parameters() if p.grad is not None and p.grad.abs().sum()}
    assert reached == {'roi_head', 'projection_convs'}, reached

    model.eval()
    with torch.no_grad():
        data = model.data_preprocessor(_batch(model, [[[4, 4, 30, 30], [30, 20, 60, 50], [6, 30, 20, 60]],
                                                      []]), False)
        preds = model(**data, mode='predict')
        outs = model(**data, mode='tensor')
    assert len(preds[0].pred_instances) == 3 and len(preds[1].pred_instances) == 0
    assert torch.equal(preds[0].pred_instances.labels, data['data_samples'][0].gt_instances.labels)
    assert torch.isfinite(preds[0].pred_instances.bboxes).all()
    assert preds[0].pred_instances.bboxes.shape == (3, 4)
    assert len(outs) == 2 + 3 and outs[2][0].shape[-1] == 5 + 1  # rpn (cls, reg) + 3 stages' (cls, reg)


def test_zero_points_and_batch_one():
    model = _tiny_model()
    model.train()
    # an image without instances next to one with instances, and a batch of only empty images
    data = model.data_preprocessor(_batch(model, [[], [[8, 8, 50, 60]]]), True)
    assert torch.isfinite(_total(model(**data, mode='loss')))
    data = model.data_preprocessor(_batch(model, [[]]), True)
    losses = model(**data, mode='loss')
    total = _total(losses)
    assert torch.isfinite(total)
    total.backward()
    assert all(p.grad is not None for p in model.roi_head.parameters())
    # batch 1 in every mode
    data = model.data_preprocessor(_batch(model, [[[10, 12, 40, 44]]]), True)
    assert torch.isfinite(_total(model(**data, mode='loss')))
    model.eval()
    with torch.no_grad():
        pred = model(**model.data_preprocessor(_batch(model, [[[10, 12, 40, 44]]]), False), mode='predict')[0]
        empty = model(**model.data_preprocessor(_batch(model, [[]]), False), mode='predict')[0]
    assert pred.pred_instances.bboxes.shape == (1, 4) and len(empty.pred_instances) == 0


def test_one_box_per_point_even_when_nms_removes_a_whole_group():
    model = _tiny_model()
    head = model.roi_head
    box = torch.tensor([0., 0., 10., 10.])
    boxes = torch.stack([box, box + 1, box + 30]).expand(2, 3, 4).clone()
    boxes[1, 2] = box + 0.5  # point 1's boxes all overlap point 0's best box
    scores = torch.tensor([[0.9, 0.5, 0.4], [0.8, 0.7, 0.6]])
    best = head._one_box_per_point(boxes, scores, torch.tensor([2, 2]))
    assert best.tolist() == [0, 0]  # point 1 falls back to its own best box, never another point's
    best = head._one_box_per_point(boxes, scores, torch.tensor([2, 3]))
    assert best.tolist() == [0, 0]


def test_missing_points_is_a_clear_error():
    model = _tiny_model()
    data = _batch(model, [[[4, 4, 30, 30]]])
    del data['data_samples'][0].gt_instances.points
    with pytest.raises(KeyError, match='points'):
        model(**model.data_preprocessor(data, True), mode='loss')


@pytest.mark.parametrize('path', sorted(glob.glob(f'{REPO}/configs/group_rcnn/*.py')))
def test_configs_parse_and_build(path):
    from mmdet.registry import MODELS
    from mmengine.registry import init_default_scope
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'mmdet' and cfg.custom_imports.imports == ['mmext']
    init_default_scope('mmdet')
    with torch.device('meta'):
        MODELS.build(cfg.model)


def test_coco_teacher_parameter_counts():
    """The release's COCO model: three 256 -> 256*256 parameter generators (~50M), 80-class embedding, 258->256
    compression conv, 512->256 fusion, RetinaHead with 80 classes and 9 anchors."""
    from mmdet.registry import MODELS
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')
    cfg = Config.fromfile(f'{REPO}/configs/group_rcnn/group-rcnn_r50_fpn_8xb2-24e_coco-10p.py')
    with torch.device('meta'):
        model = MODELS.build(cfg.model)

    def count(m):
        return sum(p.numel() for p in m.parameters())

    head = model.roi_head
    assert count(head.generate_params) == 3 * (256 * 65536 + 65536) == 50_528_256
    assert count(head.cls_embedding) == 80 * 256
    assert count(head.compress_feat) == 258 * 256 * 9 + 256
    assert count(head.compress) == 512 * 256 + 256
    assert count(model.projection_convs) == 256 * 256 * 9 + 256
    assert model.rpn_head.num_classes == 80 and model.rpn_head.num_base_priors == 9
    # Shared2FCBBoxHead per stage: fc 256*7*7 -> 1024 -> 1024, cls 81, class-agnostic reg 4
    per_stage = (12544 * 1024 + 1024) + (1024 * 1024 + 1024) + (1024 * 81 + 81) + (1024 * 4 + 4)
    assert count(head.bbox_head) == 3 * per_stage
    assert count(model.backbone) == 23_508_032  # torchvision ResNet-50 without fc
