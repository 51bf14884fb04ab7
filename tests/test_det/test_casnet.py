"""CASNet detector and heads: every forward mode, gradients, hand-made outputs, empty / stuff-only images, metrics."""
import copy
import inspect

import numpy as np
import pytest
import torch
from mmdet.registry import DATASETS, METRICS, MODELS
from mmdet.structures import DetDataSample
from mmdet.structures.mask import BitmapMasks
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.evaluator import Evaluator
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData, PixelData

from mmext.det.cas_clustering import instance_topology_stats
from mmext.det.cas_semantic_head import CASSemanticHead
from tests.conftest import REPO, TINY_SHAPES

INSTANCE_CFG = f'{REPO}/configs/casnet/casnet_r18-c32_fpn_1xb4-2e_shapes128-instance.py'
PANOPTIC_CFG = f'{REPO}/configs/casnet/casnet_r18-c32_fpn_1xb4-2e_shapes128-panoptic.py'


def _tiny_model_cfg(path: str, **changes) -> dict:
    cfg = Config.fromfile(path).model.to_dict()
    cfg['backbone'].update(base_channels=8)
    cfg['neck'].update(in_channels=[8, 16, 32, 64], out_channels=16)
    cfg['semantic_head'].update(in_channels=16, inner_channels=16, norm_cfg=dict(type='GN', num_groups=4))
    cfg['attribute_head'].update(in_channels=16, feat_channels=16, norm_cfg=dict(type='GN', num_groups=4))
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(cfg.get(key), dict):
            cfg[key].update(value)
        else:
            cfg[key] = value
    return cfg


def _build(path: str, **changes):
    init_default_scope('mmdet')
    model = MODELS.build(_tiny_model_cfg(path, **changes))
    model.init_weights()
    return model


def _sample(h=64, w=64, things=True, stuff=False) -> DetDataSample:
    sample = DetDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w),
                                         batch_input_shape=(h, w), scale_factor=(1., 1.)))
    masks = np.zeros((2 if things else 0, h, w), np.uint8)
    if things:
        masks[0, 8:30, 6:28] = 1
        masks[1, 36:60, 30:58] = 1
    gt = InstanceData()
    gt.masks = BitmapMasks(masks, h, w)
    gt.labels = torch.tensor([1, 3][:len(masks)])
    gt.bboxes = torch.tensor([[6., 8., 28., 30.], [30., 36., 58., 60.]][:len(masks)])
    sample.gt_instances = gt
    if stuff:
        seg = torch.full((1, h, w), 5, dtype=torch.long)  # first stuff class
        seg[:, 40:] = 6
        for m, lab in zip(masks, gt.labels):
            seg[0][torch.from_numpy(m.astype(bool))] = lab
        sample.gt_sem_seg = PixelData(sem_seg=seg)
    return sample


@pytest.mark.parametrize('path,changes', [
    (INSTANCE_CFG, {}),
    (INSTANCE_CFG, dict(mode='separated')),
    (INSTANCE_CFG, dict(attribute_head=dict(fuse_levels=None, in_channels=16, with_centre=False))),
    (PANOPTIC_CFG, {}),
    (PANOPTIC_CFG, dict(semantic_head=dict(num_convs=2))),
], ids=['instance-joint', 'instance-separated', 'instance-shared-features-no-centre', 'panoptic-joint',
        'panoptic-semantic-tower'])
def test_all_forward_modes_and_every_parameter_gets_a_gradient(path, changes):
    model = _build(path, **changes)
    panoptic = path == PANOPTIC_CFG
    samples = [_sample(stuff=panoptic), _sample(stuff=panoptic)]
    inputs = torch.randn(2, 3, 64, 64)
    model.train()
    losses = model(inputs, samples, mode='loss')
    expected = {'loss_seg', 'loss_box', 'loss_quality'} | ({'loss_centre'} if model.attribute_head.with_centre
                                                           else set())
    expected |= {'loss_inst_cls'} if model.instance_classifier is not None else set()
    assert set(losses) == expected and all(torch.isfinite(v) for v in losses.values())
    sum(losses.values()).backward()
    missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing, f'no gradient for {missing[:5]}'
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())
    outs = model(inputs, samples, mode='tensor')
    assert outs[0].shape == (2, model.num_things + model.num_stuff, 16, 16) and outs[1].shape == (2, 4, 16, 16)
    model.eval()
    with torch.no_grad():
        preds = model(inputs, [copy.deepcopy(s) for s in samples], mode='predict')
    for p in preds:
        inst = p.pred_instances
        assert inst.masks.shape[1:] == (64, 64) and len(inst.labels) == len(inst.scores) == len(inst.bboxes)
        assert instance_topology_stats(inst.masks.numpy())['multi_claimed'] == 0
        assert ('pred_panoptic_seg' in p) == panoptic


def test_separated_mode_shares_no_parameter_and_doubles_the_backbone():
    joint, sep = _build(INSTANCE_CFG), _build(INSTANCE_CFG, mode='separated')
    n = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert n(sep) - n(joint) == n(joint.backbone) + n(joint.neck)
    inputs = torch.randn(1, 3, 64, 64)
    losses = sep(inputs, [_sample()], mode='loss')
    losses['loss_box'].backward()  # the attribute loss never reaches the semantic network
    assert all(p.grad is None for p in sep.backbone.parameters())
    assert any(p.grad is not None for p in sep.attr_backbone.parameters())


def test_batch_one_in_train_mode_and_stuff_only_and_empty_images():
    model = _build(PANOPTIC_CFG)
    model.train()
    losses = model(torch.randn(1, 3, 64, 64), [_sample(stuff=True)], mode='loss')
    assert all(torch.isfinite(v) for v in losses.values())
    # stuff-only image: no thing instance at all; the attribute losses are zero but still reach the head
    losses = model(torch.randn(1, 3, 64, 64), [_sample(things=False, stuff=True)], mode='loss')
    assert losses['loss_box'] == 0 and losses['loss_seg'] > 0
    sum(losses.values()).backward()
    assert model.attribute_head.conv_dist.weight.grad is not None
    # predictions on an image the semantic branch calls stuff everywhere: no instance, a stuff-only panoptic map
    model.eval()
    with torch.no_grad():
        model.semantic_head.conv_logits.bias[:] = torch.tensor([-9.] * 5 + [9., 0., 0.])
        pred = model(torch.randn(1, 3, 64, 64), [_sample(things=False)], mode='predict')[0]
    assert len(pred.pred_instances) == 0 and pred.pred_instances.masks.shape == (0, 64, 64)
    pan = pred.pred_panoptic_seg.sem_seg
    assert pan.shape == (1, 64, 64) and set(pan.unique().tolist()) <= {5, 6, 7}
    # an instance-only model on an empty image (all background), without and with the instance classifier
    for classifier in (None, dict(roi_size=3, channels=8, fc_channels=16)):
        inst_model = _build(INSTANCE_CFG, instance_classifier=classifier)
        inst_model.eval()
        with torch.no_grad():
            inst_model.semantic_head.conv_logits.bias[:] = torch.tensor([-9.] * 5 + [9.])
            pred = inst_model(torch.zeros(1, 3, 64, 64), [_sample(things=False)], mode='predict')[0]
        assert len(pred.pred_instances) == 0


def test_hand_made_outputs_give_the_expected_instances_and_panoptic_map(monkeypatch):
    """Perfect semantic logits and attributes for 3 instances (one with a hole) -> exactly those instances."""
    # exact cells, no semantic rounding; the class from the semantic logits (no instance classifier)
    model = _build(PANOPTIC_CFG, test_cfg=dict(mask_from_semantic=False), instance_classifier=None)
    model.eval()
    head = model.attribute_head
    h = w = 16  # stride-4 cells of a 64x64 image
    cells = np.zeros((h, w), np.int64)
    cells[1:7, 1:7] = 1
    cells[3:5, 3:5] = 0  # a hole the semantic branch calls stuff; the post-process fills it
    cells[9:15, 2:8] = 2
    cells[4:13, 9:15] = 3
    labels = {1: 0, 2: 2, 3: 4}
    sem = torch.full((1, 8, h, w), -5.)
    sem[0, 5] = 5.  # stuff class 5 (label 5 -> 'background') everywhere else
    cx, cy = head.cell_centres(h, w, torch.device('cpu'))
    dist = torch.ones(1, 4, h, w)
    centre = torch.zeros(1, 2, h, w)
    for i, lab in labels.items():
        full = np.zeros((h, w), bool)
        ys, xs = np.nonzero(cells == i)
        full[ys.min():ys.max() + 1, xs.min():xs.max() + 1] = True  # the instance's extent, hole included
        m = torch.from_numpy(cells == i)
        sem[0, 5][m] = -5.
        sem[0, lab][m] = 5.
        x1, y1, x2, y2 = xs.min() * 4, ys.min() * 4, (xs.max() + 1) * 4, (ys.max() + 1) * 4
        mx, my = (cx[m].mean(), cy[m].mean())
        fm = torch.from_numpy(full)
        dist[0, 0][fm], dist[0, 1][fm] = cx[fm] - x1, cy[fm] - y1
        dist[0, 2][fm], dist[0, 3][fm] = x2 - cx[fm], y2 - cy[fm]
        centre[0, 0][fm], centre[0, 1][fm] = mx - cx[fm], my - cy[fm]
    attr = dict(dist=dist, quality=torch.full((1, 1, h, w), 3.), centre=centre)
    monkeypatch.setattr(model, '_heads', lambda inputs: (dict(seg_preds=sem), attr))
    pred = model.predict(torch.zeros(1, 3, 64, 64), [_sample(things=False)])[0]
    inst = pred.pred_instances
    assert sorted(inst.labels.tolist()) == [0, 2, 4]
    expected = np.kron(cells, np.ones((4, 4), np.int64))
    expected[12:20, 12:20] = 1  # the filled hole
    for mask, lab in zip(inst.masks.numpy(), inst.labels.tolist()):
        i = {v: k for k, v in labels.items()}[lab]
        np.testing.assert_array_equal(mask, expected == i)
    assert (inst.scores > 0.5).all()
    assert inst.bboxes[inst.labels == 0].tolist() == [[4., 4., 28., 28.]]
    pan = pred.pred_panoptic_seg.sem_seg[0]
    assert set((pan % 1000).unique().tolist()) == {0, 2, 4, 5}
    assert len([v for v in pan.unique().tolist() if v >= 1000]) == 3
    # with the full-resolution semantic boundary (the default) only the corners of the boxes are rounded off
    model.test_cfg['mask_from_semantic'] = True
    rounded = model.predict(torch.zeros(1, 3, 64, 64), [_sample(things=False)])[0].pred_instances
    assert sorted(rounded.labels.tolist()) == [0, 2, 4]
    diff = sum(int((a ^ b).sum()) for a, b in zip(rounded.masks[rounded.labels.argsort()],
                                                   inst.masks[inst.labels.argsort()]))
    assert 0 < diff <= 4 * 3


def test_targets_round_trip_through_decode_loss_and_post_process(monkeypatch):
    """Ground truth -> dense targets in the head's output form -> decode gives back each owned cell's instance box
    and centre exactly, the attribute losses on them are ~0, and the post-process recovers the instances."""
    model = _build(INSTANCE_CFG, instance_classifier=None)  # classes from the one-hot semantic logits
    head = model.attribute_head
    sample = _sample()
    h = w = 16
    enc = head.encode_targets((h, w), [sample])
    tgt = head.get_targets((h, w), [sample])
    assert tgt['boxes'].tolist() == sample.gt_instances.bboxes.tolist()  # the masks' tight boxes
    dec = head.decode(enc)
    owner = enc['owner'][0]
    pos = owner >= 0
    assert int(pos.sum()) == int(tgt['cells'].sum()) > 0
    torch.testing.assert_close(dec['boxes'][0][pos], tgt['boxes'][owner[pos]])
    torch.testing.assert_close(dec['centres'][0][pos], tgt['centres'][owner[pos]])
    exact = dict(dist=enc['dist'], centre=enc['centre'], quality=torch.full((1, 1, h, w), 9.))
    losses = head.loss_by_feat(exact, [sample])
    assert losses['loss_box'] < 1e-5 and losses['loss_centre'] < 1e-5 and losses['loss_quality'] < 1e-3
    wrong = dict(exact, dist=enc['dist'] * 1.5)
    assert head.loss_by_feat(wrong, [sample])['loss_box'] > 0.05
    # the raw parametrisation distance_norm * exp(x) reaches the targets: log-targets through forward's decode
    raw = torch.log(enc['dist'] / head.distance_norm)
    torch.testing.assert_close(head.distance_norm * raw.exp(), enc['dist'])
    # post-process on these attributes and one-hot semantics recovers both instances with their classes
    model.eval()
    sem = torch.full((1, 6, h, w), -9.)
    sem[0, 5] = 9.
    for i, lab in enumerate(sample.gt_instances.labels.tolist()):
        sem[0, 5][owner == i], sem[0, lab][owner == i] = -9., 9.
    monkeypatch.setattr(model, '_heads', lambda inputs: (dict(seg_preds=sem), exact))
    pred = model.predict(torch.zeros(1, 3, 64, 64), [_sample(things=False)])[0].pred_instances
    assert sorted(pred.labels.tolist()) == [1, 3]
    gt_masks = sample.gt_instances.masks.to_tensor(torch.bool, 'cpu')
    for mask, lab in zip(pred.masks, pred.labels.tolist()):
        g = gt_masks[sample.gt_instances.labels.tolist().index(lab)]
        assert (mask & g).sum() / (mask | g).sum() > 0.8  # stride-4 cells: a 22 px square is 5x5 cells


def test_semantic_tower_is_off_by_default_so_earlier_checkpoints_keep_their_keys():
    # the class default is 0 (PanopticFPN's head unchanged); the Shapes configs set 4 on purpose
    assert inspect.signature(CASSemanticHead.__init__).parameters['num_convs'].default == 0
    plain = _build(INSTANCE_CFG, semantic_head=dict(num_convs=0))
    tower = _build(INSTANCE_CFG, semantic_head=dict(num_convs=2))
    assert not [k for k in plain.state_dict() if '.tower.' in k and k.startswith('semantic_head')]
    extra = set(tower.state_dict()) - set(plain.state_dict())
    assert extra and all(k.startswith('semantic_head.tower.') for k in extra)
    assert set(plain.state_dict()) <= set(tower.state_dict())


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="mode must be 'joint' or 'separated'"):
        _build(INSTANCE_CFG, mode='both')
    with pytest.raises(KeyError, match="unknown test_cfg keys \\['nms'\\]"):
        _build(INSTANCE_CFG, test_cfg=dict(nms=0.5))
    with pytest.raises(ValueError, match='test_cfg.outputs'):
        _build(INSTANCE_CFG, test_cfg=dict(outputs=('semantic', )))
    with pytest.raises(ValueError, match="mode='separated' needs attribute_head.fuse_levels"):
        _build(INSTANCE_CFG, mode='separated', attribute_head=dict(fuse_levels=None))
    with pytest.raises(ValueError, match='num_convs must be an int >= 0, got -1'):
        _build(INSTANCE_CFG, semantic_head=dict(num_convs=-1))
    with pytest.raises(ValueError, match='num_stuff_classes=1'):
        model = _build(PANOPTIC_CFG)
        model(torch.randn(1, 3, 64, 64), [_sample()], mode='loss')


def test_stock_metrics_evaluate_the_outputs(tiny_shapes):
    """CocoMetric (bbox, segm) and CocoPanopticMetric run unchanged on CASNet's predictions of the tiny val set."""
    init_default_scope('mmdet')
    cfg = Config.fromfile(PANOPTIC_CFG)
    ds_cfg = cfg.val_dataloader.dataset.to_dict()
    ds_cfg.update(data_root=tiny_shapes, shapes_cfg=TINY_SHAPES)
    dataset = DATASETS.build(ds_cfg)
    model = _build(PANOPTIC_CFG)
    model.eval()
    evaluator = Evaluator([
        METRICS.build(dict(type='CocoPanopticMetric', ann_file=tiny_shapes + 'annotations/panoptic_val.json',
                           seg_prefix=tiny_shapes + 'annotations/panoptic_val/')),
        METRICS.build(dict(type='CocoMetric', ann_file=tiny_shapes + 'annotations/instances_val.json',
                           metric=['bbox', 'segm'])),
    ])
    evaluator.dataset_meta = dataset.metainfo
    for i in range(0, len(dataset), 3):
        batch = pseudo_collate([dataset[j] for j in range(i, min(i + 3, len(dataset)))])
        with torch.no_grad():
            outputs = model.test_step(batch)
        evaluator.process(data_samples=outputs, data_batch=batch)
    metrics = evaluator.evaluate(len(dataset))
    for key in ('coco_panoptic/PQ', 'coco_panoptic/SQ', 'coco_panoptic/RQ', 'coco/bbox_mAP', 'coco/segm_mAP'):
        assert key in metrics and np.isfinite(metrics[key]), (key, metrics)
