"""KW-MobileNetV2 1/2x (``KWMobileNetV2(arch='0.5x')`` + ``KWLinearClsHead``): the released ``KW1d2x_MobileNetV2``
layout (shared/docs/references/backbones.md 2.4), its published parameter count, forwards, gradients, and its KW
layers against the per-sample reference of tests/test_ops/test_kernel_warehouse.py."""
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from mmext.backbones import KWMobileNetV2
from mmext.cls import KWLinearClsHead
from mmext.engine import KWTemperatureHook
from mmext.ops import KWConv2d
from tests.conftest import REPO
from tests.test_ops.test_kernel_warehouse import _conv_ref, _randomise_norm_stats

CONFIG = osp.join(REPO, 'configs/kernelwarehouse/kw-mobilenet-v2-1.0x-0.5x_8xb32-150e_in1k.py')


@pytest.fixture(autouse=True)
def _mmpretrain_scope():
    init_default_scope('mmpretrain')


def _params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_half_param_count_matches_published():
    """README: KW-MobileNetV2 x1.0 1/2x has 2.65M parameters (1000 classes). Ours: 2,654,396."""
    with torch.device('meta'):
        backbone = KWMobileNetV2(1.0, arch='0.5x')
        head = KWLinearClsHead(num_classes=1000, in_channels=1280)
    total = _params(backbone) + _params(head)
    assert round(total / 1e6, 2) == pytest.approx(2.65, abs=1e-6), total


def test_half_warehouse_layout_matches_released():
    """Warehouses worked out by hand from models/kw1d2x_mobilenetv2.py (gcds of the layers' channels x the hard-coded
    ratios; n = b x the sharing layers' mixtures)."""
    with torch.device('meta'):
        model = KWMobileNetV2(1.0, arch='0.5x')
        head = KWLinearClsHead(num_classes=1000, in_channels=1280)
    names = list(model.warehouse_manager.warehouse_list)
    assert names == ['stage0_conv0'] + [f'stage{s}_layer_dwconv0' for s in range(1, 6)] + \
        ['stage6_layer_pwconv0', 'stage6_layer_dwconv0', 'stage6_layer_pwconv1']
    shapes = [tuple(w.shape[:3]) for w in model.warehouse_manager.weights]
    assert shapes == [
        (9, 32, 3),  # stem 3x3: 9 mixtures, b = 1
        (36, 32, 1),  # dw 32 (block 0) + dw 96 (handover of row 1): 9 + 27
        (18, 144, 1), (27, 192, 1), (36, 384, 1), (27, 576, 1),
        (6, 480, 80),  # stage-6 pwconv0 160 -> 960 (x3): cell = gcd / 2, 4 mixtures each, b = 1/2
        (27, 960, 1),
        (40, 80, 160),  # pwconv1 960 -> 160 (x2), 960 -> 320, final 320 -> 1280: 12 + 12 + 24 + 32 mixtures, b = 1/2
    ]
    # the classifier: in cell 1280 * 0.025 = 32, 40 mixtures, b = 1/2
    assert tuple(head.warehouse_manager.weights[0].shape) == (20, 1000, 32)
    assert head.fc.attention.fc1.weight.shape == (40, 1280)  # reduction 1/32
    assert head.fc.attention.fc2.weight.shape == (40 * 21, 40)
    # pointwise convs of stages 1-5 are plain convs, stage 6 and the final 1x1 conv are KW
    feats = model.features
    assert type(feats[1].conv[1]) is nn.Conv2d and type(feats[2].conv[0][0]) is nn.Conv2d
    assert type(feats[14].conv[2]) is nn.Conv2d  # row 5, block 0: handover into stage 5
    assert isinstance(feats[15].conv[0][0], KWConv2d) and isinstance(feats[15].conv[2], KWConv2d)
    assert isinstance(feats[18][0], KWConv2d) and feats[18][0].warehouse_id == 8
    assert all(isinstance(feats[i].conv[-3][0], KWConv2d) for i in range(1, 18))  # every dw conv
    assert feats[14].conv[1][0].warehouse_id == 5 and feats[15].conv[1][0].warehouse_id == 7


def test_arch_presets_and_overrides():
    with torch.device('meta'):
        four = KWMobileNetV2(1.0, arch='4x')
        custom = KWMobileNetV2(1.0, arch='4x', cell_num_ratio=2)
        half_all_kw = KWMobileNetV2(1.0, arch='0.5x', static_pw_stages=(), cell_num_ratio=1, cell_inplane_ratio=1,
                                    cell_outplane_ratio=1)
    assert round((_params(four) + 1281000) / 1e6, 2) == 11.38  # published 4x
    assert custom.warehouse_manager.weights[0].shape[0] == 18  # stem 9 mixtures x b=2
    assert not [m for m in half_all_kw.modules() if type(m) is nn.Conv2d]
    assert four.arch == '4x' and half_all_kw.static_pw_stages == ()


def test_bad_arguments():
    with pytest.raises(ValueError, match="arch must be one of"):
        KWMobileNetV2(arch='2x')
    with pytest.raises(ValueError, match='static_pw_stages must be in 1..6'):
        KWMobileNetV2(arch='0.5x', static_pw_stages=(0, ))
    with pytest.raises(ValueError, match='cell_num_ratio must be a number or have one value per warehouse'):
        KWMobileNetV2(arch='0.5x', static_pw_stages=())  # 9 per-warehouse ratios, but now 13 warehouses
    with pytest.raises(ValueError, match='dropout'):
        KWLinearClsHead(5, 80, dropout=1.0)
    with pytest.raises(ValueError, match='num_classes'):
        KWLinearClsHead(0, 80)


def test_half_backbone_forward_backward_batch_one():
    torch.manual_seed(0)
    model = KWMobileNetV2(0.5, arch='0.5x', out_indices=(2, 7)).train()
    outs = model(torch.randn(2, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(2, 16, 8, 8), (2, 1280, 2, 2)]
    assert model.out_channels == (16, 1280)
    sum(o.square().mean() for o in outs).backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]
    assert not missing, missing
    outs = model(torch.randn(1, 3, 64, 64))  # batch 1 in training
    assert all(torch.isfinite(o).all() for o in outs)
    model.eval()
    with torch.no_grad():
        assert all(torch.isfinite(o).all() for o in model(torch.randn(1, 3, 64, 64)))


@pytest.mark.parametrize('tau', [0.0, 0.4])
def test_half_kw_layers_match_per_sample_reference(tau):
    """The b = 1/2, half-cell stage-6 pw warehouses and a shared dw warehouse, layer by layer."""
    torch.manual_seed(0)
    model = KWMobileNetV2(0.5, arch='0.5x').eval()
    _randomise_norm_stats(model)
    for layer in (model.features[15].conv[0][0], model.features[15].conv[2], model.features[18][0],
                  model.features[3].conv[1][0]):
        layer.update_temperature(tau)
        x = torch.randn(2, layer.in_channels, 5, 5)
        with torch.no_grad():
            assert torch.allclose(layer(x), _conv_ref(layer, x), rtol=1e-4, atol=1e-5)


def _classifier(width: float = 0.5, classes: int = 5) -> nn.Module:
    cfg = Config.fromfile(CONFIG)
    cfg.model.backbone.widen_factor = width
    cfg.model.head.num_classes = classes
    cfg.model.head.topk = (1, )
    return MODELS.build(cfg.model)


def test_config_builds_published_model_and_recipe():
    cfg = Config.fromfile(CONFIG)
    assert cfg.model.head.type == 'KWLinearClsHead' and cfg.model.head.dropout == 0.1
    assert cfg.model.head.loss.type == 'CrossEntropyLoss'  # the 1/2x JSON sets "smoothing": 0
    assert cfg.optim_wrapper.optimizer.lr == 0.05 and cfg.optim_wrapper.optimizer.weight_decay == 4e-5
    assert cfg.train_cfg.max_epochs == 150 and cfg.param_scheduler[0].type == 'CosineAnnealingLR'
    assert cfg.custom_hooks == [dict(type='KWTemperatureHook', temp_init=1.0, temp_final=0.0, temp_epochs=15)]
    with torch.device('meta'):
        model = MODELS.build(cfg.model)
    assert round(_params(model) / 1e6, 2) == 2.65
    assert model.head.in_channels == model.backbone.out_channels[-1]
    half = Config.fromfile(osp.join(REPO, 'configs/kernelwarehouse/kw-mobilenet-v2-0.5x-0.5x_8xb32-150e_in1k.py'))
    assert half.model.backbone.widen_factor == 0.5 and half.model.head.type == 'KWLinearClsHead'


def test_classifier_all_modes_gradients_and_temperature_hook():
    torch.manual_seed(0)
    model = _classifier()
    hook = KWTemperatureHook(temp_epochs=15)
    n_kw = hook.set_value(model, 0.5)  # the head's KWLinear is annealed with the backbone's KW convs
    assert float(model.head.fc.attention.tau) == 0.5 and n_kw == len(model.backbone.warehouse_manager.layers(
        model.backbone)) + 1
    inputs = torch.randn(2, 3, 64, 64)
    samples = [DataSample().set_gt_label(i) for i in (1, 3)]
    model.train()
    losses = model(inputs, samples, mode='loss')
    assert torch.isfinite(losses['loss'])
    losses['loss'].backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]
    assert not missing, missing
    loss1 = model(inputs[:1], samples[:1], mode='loss')['loss']  # batch 1 in training
    assert torch.isfinite(loss1)
    model.eval()
    hook.set_value(model, 0.0)
    with torch.no_grad():
        feats = model(inputs, mode='tensor')
        preds = model(inputs[:1], mode='predict')
    assert feats.shape == (2, 5) and torch.isfinite(feats).all()
    assert preds[0].pred_score.shape == (5, ) and torch.allclose(preds[0].pred_score.sum(), torch.tensor(1.0))


def test_half_frozen_stages():
    with torch.device('meta'):
        model = KWMobileNetV2(1.0, arch='0.5x', frozen_stages=2)  # stem + setting rows 0, 1 (features 0-3)
    model.train()
    weights = model.warehouse_manager.weights
    assert not model.features[3].conv[0][0].weight.requires_grad  # a static pw conv of a frozen block
    assert not weights[0].requires_grad and not weights[1].requires_grad  # stem, stage-1 dw: all layers frozen
    assert weights[2].requires_grad  # stage-2 dw is also used by features[4] (handover of row 2)
    assert model.features[4].conv[0][0].weight.requires_grad and model.features[4].training
