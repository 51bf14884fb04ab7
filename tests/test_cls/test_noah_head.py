"""NOAHHead / NOAHMultiLabelClsHead: equivalence with a per-head reference, all forward modes, gradients, batch 1,
token inputs from mmpretrain's ViT, error messages."""
import pytest
import torch
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from mmext.cls import NOAHHead, NOAHMultiLabelClsHead
from tests.test_cls.noah_reference import noah_reference


@pytest.fixture(autouse=True)
def _mmpretrain_scope():
    """Build in mmpretrain's scope whatever scope an earlier test left behind."""
    init_default_scope('mmpretrain')


def _head(**kwargs) -> NOAHHead:
    cfg = dict(type='NOAHHead', num_classes=5, in_channels=32, head_num=4, key_ratio=0.5, dropout=0.1)
    cfg.update(kwargs)
    head = MODELS.build(cfg)
    head.init_weights()
    return head


def _reference(head, x):
    return noah_reference(x, head.query.weight, head.query.bias, head.value.weight, head.value.bias,
                          head.head_num, head.key_ratio, head.head_split, head.kv_split)


def _randomize_bias(head):
    with torch.no_grad():  # init leaves zero biases; make them count in the comparison
        head.query.bias.normal_()
        head.value.bias.normal_()


@pytest.mark.parametrize('kwargs', [
    dict(),
    dict(head_num=1),
    dict(head_num=8, key_ratio=0.25),
    dict(head_num=4, key_ratio=0.125, in_channels=64),
    dict(head_split=False),
    dict(kv_split=False, head_num=2),
    dict(head_split=False, kv_split=False),
])
def test_equals_per_head_reference(kwargs):
    torch.manual_seed(0)
    head = _head(**kwargs).eval()
    _randomize_bias(head)
    x = torch.randn(2, head.in_channels, 3, 5)
    out = head((x, ))
    assert out.shape == (2, 5)
    torch.testing.assert_close(out, _reference(head, x), rtol=1e-5, atol=1e-5)


def test_layer_shapes_and_parameter_count_follow_the_paper():
    # R50 (C=2048, N=4, r=1/8, K=1000): query [4000, 64, 1, 1], value [4000, 448, 1, 1] (references, §5.4)
    head = NOAHHead(num_classes=1000, in_channels=2048, head_num=4, key_ratio=0.125)
    assert head.query.weight.shape == (4000, 64, 1, 1) and head.value.weight.shape == (4000, 448, 1, 1)
    assert head.query.bias.shape == head.value.bias.shape == (4000, )
    # MobileNetV2 (C=1280, N=8, r=1/4): [8000, 40, 1, 1] and [8000, 120, 1, 1]
    head = NOAHHead(num_classes=1000, in_channels=1280, head_num=8, key_ratio=0.25)
    assert head.query.weight.shape == (8000, 40, 1, 1) and head.value.weight.shape == (8000, 120, 1, 1)
    # C*K + 2*N*K parameters
    assert sum(p.numel() for p in head.parameters()) == 1280 * 1000 + 2 * 8 * 1000


def test_dropout_acts_on_the_value_maps_only():
    torch.manual_seed(0)
    head = _head(dropout=0.5).eval()
    _randomize_bias(head)
    x = torch.randn(2, 32, 2, 3)
    seen = {}
    head.dropout.register_forward_hook(lambda m, inp, out: seen.update(inp=inp[0]))
    head((x, ))
    values = torch.nn.functional.conv2d(x[:, 16:], head.value.weight, head.value.bias, groups=4)
    torch.testing.assert_close(seen['inp'], values.reshape(2, 4, 5, 6))
    # in training, dropout changes the logits; in eval it is the identity
    head.train()
    torch.manual_seed(1)
    assert not torch.allclose(head((x, )), _reference(head, x))
    head.eval()
    torch.testing.assert_close(head((x, )), _reference(head, x), rtol=1e-5, atol=1e-5)


def test_init_is_kaiming_fan_out_with_zero_bias():
    torch.manual_seed(0)
    head = NOAHHead(num_classes=100, in_channels=256, head_num=4, key_ratio=0.5)
    with torch.no_grad():
        head.query.bias.fill_(1.0)
    head.init_weights()
    assert torch.count_nonzero(head.query.bias) == 0 and torch.count_nonzero(head.value.bias) == 0
    expected = (2.0 / (4 * 100)) ** 0.5  # fan_out of a 1x1 conv = out_channels
    assert abs(head.query.weight.std().item() / expected - 1) < 0.1


def test_token_inputs_drop_the_class_token():
    torch.manual_seed(0)
    head = _head(num_extra_tokens=1).eval()
    patch = torch.randn(2, 12, 32)  # (B, L, C)
    cls_a, cls_b = torch.randn(2, 1, 32), torch.randn(2, 1, 32)
    out_a = head((torch.cat([cls_a, patch], 1), ))
    out_b = head((torch.cat([cls_b, patch], 1), ))
    torch.testing.assert_close(out_a, out_b)
    as_map = patch.transpose(1, 2).reshape(2, 32, 3, 4)
    torch.testing.assert_close(out_a, head((as_map, )), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(out_a, _reference(head, as_map), rtol=1e-5, atol=1e-5)
    assert head.pre_logits((as_map, )).shape == (2, 32, 3, 4)


@pytest.mark.parametrize('backbone_kwargs,head_kwargs', [
    (dict(with_cls_token=False, out_type='featmap'), dict()),
    (dict(out_type='raw'), dict(num_extra_tokens=1)),
])
def test_vision_transformer_backbone(backbone_kwargs, head_kwargs):
    torch.manual_seed(0)
    arch = dict(embed_dims=32, num_layers=1, num_heads=2, feedforward_channels=64)
    model = MODELS.build(dict(
        type='ImageClassifier',
        backbone=dict(type='VisionTransformer', arch=arch, img_size=32, patch_size=8, **backbone_kwargs),
        neck=None,
        head=dict(type='NOAHHead', num_classes=5, in_channels=32, **head_kwargs)))
    model.init_weights()
    x = torch.randn(2, 3, 32, 32)
    assert model(x, mode='tensor').shape == (2, 5)
    losses = model(x, [DataSample().set_gt_label(i) for i in (0, 3)], mode='loss')
    losses['loss'].backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


def _resnet_classifier(head: dict) -> torch.nn.Module:
    model = MODELS.build(dict(
        type='ImageClassifier',
        backbone=dict(type='ResNet', depth=18, stem_channels=16, base_channels=8, out_indices=(3, )),
        neck=None,
        head=head,
        data_preprocessor=dict(num_classes=5, mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375])))
    model.init_weights()
    return model


@pytest.mark.parametrize('batch', [2, 1])
def test_all_forward_modes_and_gradients(batch):
    torch.manual_seed(0)
    model = _resnet_classifier(dict(type='NOAHHead', num_classes=5, in_channels=64, cal_acc=True))
    x = torch.randn(batch, 3, 64, 64)
    samples = [DataSample().set_gt_label(i % 5) for i in range(batch)]
    model.train()
    losses = model(x, samples, mode='loss')
    assert torch.isfinite(losses['loss']) and 'accuracy_top-1' in losses
    losses['loss'].backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    assert model.head.query.weight.grad.abs().sum() > 0 and model.head.value.weight.grad.abs().sum() > 0
    model.eval()
    with torch.no_grad():
        logits = model(x, mode='tensor')
        preds = model(x, samples, mode='predict')
    assert logits.shape == (batch, 5) and torch.isfinite(logits).all()
    assert len(preds) == batch and preds[0].pred_score.shape == (5, )
    torch.testing.assert_close(preds[0].pred_score.sum(), torch.tensor(1.0))
    feats = model.extract_feat(x, stage='pre_logits')
    assert feats.shape == (batch, 64, 2, 2)


def test_multilabel_head_with_mmpretrain_metric():
    from mmpretrain.evaluation import MultiLabelMetric
    torch.manual_seed(0)
    model = _resnet_classifier(dict(type='NOAHMultiLabelClsHead', num_classes=5, in_channels=64, thr=0.5))
    assert isinstance(model.head, NOAHMultiLabelClsHead)
    x = torch.randn(2, 3, 64, 64)
    samples = [DataSample().set_gt_label([0, 2]), DataSample().set_gt_label([4])]
    losses = model(x, samples, mode='loss')
    losses['loss'].backward()
    assert torch.isfinite(losses['loss'])
    assert all(p.grad is not None for p in model.parameters())
    # sigmoid BCE on the head's logits
    model.eval()
    with torch.no_grad():
        logits = model(x, mode='tensor')
        preds = model(x, [DataSample().set_gt_label([0, 2]), DataSample().set_gt_label([4])], mode='predict')
    target = torch.tensor([[1., 0, 1, 0, 0], [0, 0, 0, 0, 1]])
    expected = torch.nn.functional.binary_cross_entropy_with_logits(logits, target, reduction='sum') / 2
    model.head.dropout.p = 0.0
    model.train()
    model.apply(lambda m: m.eval() if isinstance(m, torch.nn.BatchNorm2d) else None)
    with torch.no_grad():
        loss = model(x, samples, mode='loss')['loss']
    torch.testing.assert_close(loss, expected, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(preds[0].pred_score, torch.sigmoid(logits[0]))
    assert torch.equal(preds[1].pred_label, torch.where(torch.sigmoid(logits[1]) >= 0.5)[0])
    metric = MultiLabelMetric(items=('precision', 'recall', 'f1-score'))
    metric.process(None, [p.to_dict() for p in preds])
    result = metric.compute_metrics(metric.results)
    assert set(result) == {'precision', 'recall', 'f1-score'}


@pytest.mark.parametrize('kwargs,match', [
    (dict(in_channels=30), r'key channels \(15 .*multiple of head_num \(4\)'),
    (dict(key_ratio=1.0), r'key_ratio must be in \(0, 1\)'),
    (dict(head_num=0), 'head_num must be a positive int'),
    (dict(num_classes=0), 'num_classes must be a positive int'),
    (dict(dropout=1.0), r'dropout must be in \[0, 1\)'),
    (dict(num_extra_tokens=-1), 'num_extra_tokens must be an int >= 0'),
])
def test_bad_arguments_are_named(kwargs, match):
    cfg = dict(num_classes=5, in_channels=32)
    cfg.update(kwargs)
    with pytest.raises(ValueError, match=match):
        NOAHHead(**cfg)


def test_bad_inputs_are_explained():
    head = _head()
    with pytest.raises(ValueError, match='unpooled feature map'):
        head((torch.randn(2, 32), ))
    with pytest.raises(ValueError, match='in_channels=32, but the input has 16 channels'):
        head((torch.randn(2, 16, 2, 2), ))
    with pytest.raises(TypeError, match="out_type='featmap'"):
        head(((torch.randn(2, 32), torch.randn(2, 32)), ))
    with pytest.raises(ValueError, match='no patch tokens are left'):
        head((torch.randn(2, 1, 32), ))
