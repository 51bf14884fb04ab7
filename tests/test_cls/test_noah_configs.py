"""configs/noah: every config builds; NOAH keeps the classifier's parameter count (paper: R18 11.70M, <= 0.02M
more than the linear baseline); the Shapes configs run a 2x3x64x64 batch."""
import functools
import glob
import os.path as osp

import pytest
import torch
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS

from mmext.apis import load_config
from tests.conftest import REPO

NOAH_DIR = osp.join(REPO, 'configs', 'noah')
PAIRS = sorted(osp.basename(p) for p in glob.glob(osp.join(NOAH_DIR, '*_noah*.py')))


@functools.lru_cache(maxsize=None)
def _config(name: str):
    return load_config(osp.join(NOAH_DIR, name))


def _build(name: str) -> torch.nn.Module:
    init_default_scope('mmpretrain')
    return MODELS.build(_config(name).model)


_BACKBONE_PARAMS: dict = {}


def _backbone_params(backbone_cfg: dict) -> int:
    """Parameters of a backbone config, built once per session: pairs share their backbone."""
    key = repr(backbone_cfg)
    if key not in _BACKBONE_PARAMS:
        _BACKBONE_PARAMS[key] = _params(MODELS.build(backbone_cfg))
    return _BACKBONE_PARAMS[key]


@functools.lru_cache(maxsize=None)
def _params_of(name: str) -> dict:
    """Parameter counts of a config's model; the backbone is built once per distinct backbone config."""
    cfg = _config(name)
    assert cfg.default_scope == 'mmpretrain'
    assert cfg.custom_imports == dict(imports=['mmext'], allow_failed_imports=False)
    init_default_scope(cfg.default_scope)
    model_cfg = cfg.model.to_dict()
    model_cfg['backbone'].pop('init_cfg', None)  # the VOC configs start from a downloaded checkpoint
    head = MODELS.build(model_cfg['head'])
    neck = model_cfg.get('neck')
    neck_params = _params(MODELS.build(neck)) if neck else 0
    backbone = _backbone_params(model_cfg['backbone'])
    return dict(total=backbone + neck_params + _params(head), backbone=backbone, head=_params(head),
                head_type=type(head).__name__, neck=neck)


def _params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_every_noah_config_has_a_linear_baseline():
    assert len(PAIRS) == 9, PAIRS  # R18/50/101, MBV2 x3, DeiT-T, VOC multi-label, Shapes
    for name in PAIRS:
        assert osp.isfile(osp.join(NOAH_DIR, name.replace('_noah', '_linear'))), name


@pytest.mark.parametrize('name', PAIRS)
def test_noah_config_keeps_the_parameter_count(name):
    noah, linear = _params_of(name), _params_of(name.replace('_noah', '_linear'))
    assert noah['head_type'] in ('NOAHHead', 'NOAHMultiLabelClsHead') and noah['neck'] is None
    head = _config(name).model.head
    classes, channels, heads = head.num_classes, head.in_channels, head.head_num
    # NOAH: C*K + 2*N*K parameters; the linear classifier: C*K + K
    assert noah['head'] == channels * classes + 2 * heads * classes
    assert linear['head'] == channels * classes + classes
    backbone_delta = noah['backbone'] - linear['backbone']
    # DeiT + NOAH has no class token: one 192-d token and its position embedding fewer
    assert backbone_delta == (-2 * 192 if name.startswith('deit') else 0)
    assert noah['total'] - linear['total'] == 2 * heads * classes - classes + backbone_delta
    assert abs(noah['total'] - linear['total']) <= 20_000, 'the paper keeps the delta within ~0.02M'


def test_resnet18_parameter_count_matches_the_paper():
    # paper / reference table: R18 + NOAH 11.70M (reproduced as 11.6965M vs 11.6895M for the FC baseline)
    assert _params(_build('resnet18_noah_8xb32_in1k.py')) == 11_696_512  # the whole ImageClassifier
    assert _params_of('resnet18_noah_8xb32_in1k.py')['total'] == 11_696_512
    assert _params_of('resnet18_linear_8xb32_in1k.py')['total'] == 11_689_512


@pytest.mark.parametrize('name,settings', [
    ('resnet18_noah_8xb32_in1k.py', (4, 0.5, 0.1)),
    ('resnet50_noah_8xb32_in1k.py', (4, 0.125, 0.1)),
    ('resnet101_noah_8xb32_in1k.py', (4, 0.125, 0.1)),
    ('mobilenet-v2-0.5x_noah_8xb32-150e_in1k.py', (8, 0.25, 0.2)),
    ('deit-tiny_noah_4xb256_in1k.py', (4, 0.5, 0.1)),
])
def test_paper_settings(name, settings):
    head = _config(name).model.head
    assert (head.head_num, head.key_ratio, head.dropout) == settings


def test_deit_tiny_noah_has_no_class_token():
    model = _build('deit-tiny_noah_4xb256_in1k.py')
    assert model.backbone.cls_token is None and model.backbone.pos_embed.shape == (1, 196, 192)


@pytest.mark.parametrize('name', ['resnet18_noah_1xb32-20e_shapes-cls.py', 'resnet18_linear_1xb32-20e_shapes-cls.py'])
def test_shapes_configs_run_a_batch(name):
    model = _build(name)
    model.init_weights()
    model.eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, 64, 64), mode='tensor')
    assert out.shape == (2, 5) and torch.isfinite(out).all()
