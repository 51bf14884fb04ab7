"""CASNet instance classifier: cell boxes and pooling against hand values, losses and gradients, empty images, and
the class of a cluster taken from the new head."""
import copy

import pytest
import torch

from mmext.det.cas_instance_classifier import CASInstanceClassifier, cell_boxes, pool_instances
from tests.test_det.test_casnet import INSTANCE_CFG, PANOPTIC_CFG, _build
from tests.test_det.test_casnet import _sample as _float_label_sample


#: the classifier as measured on Shapes (README design choice 13), at the tiny models' widths
CLS = dict(roi_size=7, channels=8, fc_channels=16, with_occupancy=True, with_mask_mean=True, num_jitter=1,
           jitter=0.1, score='prob_quality', combine='replace')


def _sample(**kwargs):
    """``test_casnet``'s sample with long labels (an empty ``torch.tensor([])`` is float), as datasets give."""
    sample = _float_label_sample(**kwargs)
    sample.gt_instances.labels = sample.gt_instances.labels.long()
    return sample


def test_cell_boxes_are_the_tight_boxes_of_the_cells():
    maps = torch.full((2, 6, 8), -1, dtype=torch.long)
    maps[0, 1:3, 2:5] = 0
    maps[1, 4, 7] = 1
    maps[1, 0:2, 0] = 2
    boxes = cell_boxes(maps, 4, stride=4)
    assert boxes.tolist() == [[8., 4., 20., 12.], [28., 16., 32., 20.], [0., 0., 4., 8.], [0., 0., 0., 0.]]


def test_pooling_against_hand_computed_values():
    """A feature map linear in the cell coordinates: RoIAlign's bin averages are its values at the bin centres
    (cell j centred at input pixel (j + 0.5) * stride); the occupancy and the mask mean are counted by hand."""
    h, w, s, g = 8, 10, 4, 2
    jj = torch.arange(w, dtype=torch.float64).expand(h, w)
    ii = torch.arange(h, dtype=torch.float64)[:, None].expand(h, w)
    feats = torch.stack([jj, 2 * ii + 1]).float()[None]  # (1, 2, h, w)
    label_map = torch.full((1, h, w), -1, dtype=torch.long)
    label_map[0, 2:6, 3:7] = 0  # instance 0: 4x4 cells, cells (2..5, 3..6)
    label_map[0, 2:4, 3:5] = 1  # instance 1 owns the top-left quarter of it
    boxes = torch.tensor([[14., 10., 26., 22.], [12., 8., 20., 16.]])  # inside the map, away from its border
    out = pool_instances(feats, label_map, boxes, torch.tensor([0, 0]), roi_size=g, stride=s)
    assert out['roi'].shape == (2, 2, g, g) and out['occupancy'].shape == (2, 1, g, g)
    for m, (x1, y1, x2, y2) in enumerate(boxes.tolist()):
        for a in range(g):
            for b in range(g):
                x = x1 + (b + 0.5) * (x2 - x1) / g
                y = y1 + (a + 0.5) * (y2 - y1) / g
                u, v = x / s - 0.5, y / s - 0.5  # feature-cell coordinates
                assert out['roi'][m, 0, a, b].item() == pytest.approx(u, abs=1e-5)
                assert out['roi'][m, 1, a, b].item() == pytest.approx(2 * v + 1, abs=1e-5)
    # box 1 = instance 1's cells (columns 3-4, rows 2-3) exactly; each 1-cell bin has 2 samples per side at
    # cell coordinates 2.75 and 3.25 (columns; rows likewise): the bilinear indicator reads 0.75 and 1 there, so
    # every bin's occupancy is ((0.75 + 1) / 2) ** 2
    torch.testing.assert_close(out['occupancy'][1, 0], torch.full((g, g), 0.875**2))
    # instance 0 keeps the cells of its box outside the top-left 2x2 block: 12 cells
    cells0 = (label_map[0] == 0).nonzero()
    assert len(cells0) == 12
    expected0 = torch.tensor([cells0[:, 1].float().mean(), (2 * cells0[:, 0].float() + 1).mean()])
    torch.testing.assert_close(out['mask_mean'][0], expected0)
    torch.testing.assert_close(out['mask_mean'][1], torch.tensor([3.5, 2 * 2.5 + 1]))


def test_loss_jitter_gradients_and_no_instance():
    torch.manual_seed(0)
    head = CASInstanceClassifier(in_channels=6, num_things=5, roi_size=3, channels=4, fc_channels=8, num_jitter=2)
    feats = torch.randn(2, 6, 8, 8, requires_grad=True)
    owner = torch.full((2, 8, 8), -1, dtype=torch.long)
    owner[0, 1:4, 1:4] = 0
    owner[1, 2:7, 3:5] = 2  # instance 1 owns no cell (occluded): it is skipped
    head.train()
    losses = head.loss(feats, owner, torch.tensor([1, 4, 2]), torch.tensor([0, 0, 1]))
    assert losses['loss_inst_cls'] > 0
    losses['loss_inst_cls'].backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in head.parameters())
    assert feats.grad.abs().sum() > 0
    boxes = head.jitter_boxes(torch.tensor([[0., 0., 10., 20.]]))
    assert boxes.shape == (3, 4) and (boxes[1:, 2:] > boxes[1:, :2]).all()
    assert ((boxes[1:] - boxes[:1]).abs() <= torch.tensor([2.1, 4.2, 2.1, 4.2])).all()  # +-10 % and e^+-0.1
    # no instance in the batch: a zero loss that still reaches every parameter
    head.zero_grad()
    zero = head.loss(feats, torch.full((2, 8, 8), -1, dtype=torch.long), torch.zeros(0, dtype=torch.long),
                     torch.zeros(0, dtype=torch.long))['loss_inst_cls']
    assert zero == 0
    zero.backward()
    assert all(p.grad is not None for p in head.parameters())
    probs, boxes = head.predict(feats[:1], torch.zeros(8, 8, dtype=torch.long), 0)
    assert probs.shape == (0, 5) and boxes.shape == (0, 4)


@pytest.mark.parametrize('path,changes', [
    (INSTANCE_CFG, {}),
    (INSTANCE_CFG, dict(mode='separated')),
    (PANOPTIC_CFG, {}),
], ids=['instance-joint', 'instance-separated', 'panoptic-joint'])
def test_forward_modes_batch_one_and_every_parameter_gets_a_gradient(path, changes):
    model = _build(path, instance_classifier=CLS, **changes)
    assert model.instance_classifier is not None
    stuff = model.num_stuff > 1
    model.train()
    for samples in ([_sample(stuff=stuff)], [_sample(stuff=stuff), _sample(things=False, stuff=stuff)]):
        model.zero_grad()
        inputs = torch.randn(len(samples), 3, 64, 64)
        losses = model(inputs, samples, mode='loss')
        assert 'loss_inst_cls' in losses and all(torch.isfinite(v) for v in losses.values())
        sum(losses.values()).backward()
        missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
        assert not missing, missing
    if model.mode == 'separated':  # the classifier reads the semantic network only
        model.zero_grad()
        model(torch.randn(1, 3, 64, 64), [_sample()], mode='loss')['loss_inst_cls'].backward()
        assert all(p.grad is None for p in model.attr_backbone.parameters())
    outs = model(torch.randn(1, 3, 64, 64), None, mode='tensor')
    assert outs[0].shape == (1, model.num_things + model.num_stuff, 16, 16)
    model.eval()
    samples = [_sample(stuff=stuff), _sample(things=False)]
    with torch.no_grad():
        preds = model(torch.randn(2, 3, 64, 64), copy.deepcopy(samples), mode='predict')
    for p in preds:
        inst = p.pred_instances
        assert len(inst.labels) == len(inst.scores) == len(inst.masks)
        assert ((inst.labels >= 0) & (inst.labels < model.num_things)).all()


def test_empty_image_gives_a_zero_classifier_loss():
    """(Its prediction, no instance, is checked in ``test_casnet``'s empty-image test.)"""
    model = _build(INSTANCE_CFG, instance_classifier=CLS)
    model.train()
    losses = model(torch.randn(1, 3, 64, 64), [_sample(things=False)], mode='loss')
    assert losses['loss_inst_cls'] == 0


def test_the_class_of_a_cluster_comes_from_the_instance_classifier(monkeypatch):
    """Exact attributes for the two instances of ``_sample``, semantic logits saying class 0 everywhere on them;
    the classifier's bias says class 3: with the classifier the clusters are class 3, scored prob x quality;
    without it they are class 0."""
    model = _build(INSTANCE_CFG, instance_classifier=CLS)
    model.eval()
    head = model.attribute_head
    sample = _sample()
    h = w = 16
    enc = head.encode_targets((h, w), [sample])
    owner = enc['owner'][0]
    attr = dict(dist=enc['dist'], centre=enc['centre'], quality=torch.full((1, 1, h, w), 9.))
    sem = torch.full((1, 6, h, w), -9.)
    sem[0, 5] = 9.
    sem[0, 5][owner >= 0], sem[0, 0][owner >= 0] = -9., 9.
    feats = torch.randn(1, 16, h, w)
    monkeypatch.setattr(model, '_heads', lambda inputs: (dict(seg_preds=sem, seg_feats=feats), attr))
    with torch.no_grad():
        model.instance_classifier.cls.weight.zero_()
        model.instance_classifier.cls.bias[:] = torch.tensor([0., 0., 0., 4., 0.])
    model.cls_score, model.cls_combine = 'prob_quality', 'replace'
    pred = model.predict(torch.zeros(1, 3, 64, 64), [_sample(things=False)])[0].pred_instances
    assert pred.labels.tolist() == [3, 3]
    prob = torch.tensor([0., 0., 0., 4., 0.]).softmax(0)[3]
    torch.testing.assert_close(pred.scores, torch.full((2, ), float(prob * torch.sigmoid(torch.tensor(9.)))))
    # score='prob_thing_quality': times the mean p(thing), ~1 here
    model.cls_score = 'prob_thing_quality'
    pred = model.predict(torch.zeros(1, 3, 64, 64), [_sample(things=False)])[0].pred_instances
    assert pred.labels.tolist() == [3, 3]
    torch.testing.assert_close(pred.scores, torch.full((2, ), float(prob * torch.sigmoid(torch.tensor(9.)))),
                               rtol=1e-4, atol=1e-6)
    # combine='product' with a certain semantic branch (class 0, p ~ 1 - 4e-8): the product picks class 0
    model.cls_combine = 'product'
    pred = model.predict(torch.zeros(1, 3, 64, 64), [_sample(things=False)])[0].pred_instances
    assert pred.labels.tolist() == [0, 0]
    model.instance_classifier = None
    pred = model.predict(torch.zeros(1, 3, 64, 64), [_sample(things=False)])[0].pred_instances
    assert pred.labels.tolist() == [0, 0]


def test_bad_arguments_name_the_key():
    with pytest.raises(KeyError, match="unknown instance_classifier keys \\['size'\\]"):
        _build(INSTANCE_CFG, instance_classifier=dict(CLS, size=7))
    with pytest.raises(ValueError, match='instance_classifier.score'):
        _build(INSTANCE_CFG, instance_classifier=dict(CLS, score='prob'))
    with pytest.raises(ValueError, match='instance_classifier.combine'):
        _build(INSTANCE_CFG, instance_classifier=dict(CLS, combine='sum'))
    with pytest.raises(ValueError, match='roi_size'):
        CASInstanceClassifier(in_channels=6, num_things=5, roi_size=0)
    with pytest.raises(ValueError, match='jitter'):
        CASInstanceClassifier(in_channels=6, num_things=5, jitter=1.5)
