"""Every distillation config parses with the right model type; the ImageNet NORM config builds (without its
teacher download) and exports a student of the plain ResNet-18's size."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope

import mmext  # noqa: F401
from tests.conftest import REPO

CONFIGS = sorted(glob.glob(osp.join(REPO, 'configs', '*', '*.py')))
CONFIGS = [c for c in CONFIGS if osp.basename(osp.dirname(c)) in ('norm', 'dks', 'dcm', 'distill')]


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: osp.basename(p))
def test_config_parses(path):
    cfg = Config.fromfile(path)
    assert cfg.default_scope in ('mmpretrain', 'mmdet', 'mmseg')
    assert cfg.custom_imports['imports'] == ['mmext']
    assert cfg.model.type in ('NORMDistiller', 'DKSDistiller', 'DCMDistiller', 'FeatureDistiller', 'ImageClassifier')


@pytest.mark.parametrize('name,network,params', [
    ('norm/norm_r34-r18_8xb32-100e_in1k.py', 'student', 11_689_512),  # ResNet-18 (torchvision's count)
])
def test_imagenet_config_exports_plain_student(name, network, params):
    cfg = Config.fromfile(osp.join(REPO, 'configs', name))
    init_default_scope('mmpretrain')
    model = MODELS.build(dict(cfg.model, build_teacher=False))
    assert not model.has_teacher
    exported = model.export_state_dict(network)
    plain = MODELS.build(cfg.model[network])
    plain.load_state_dict(exported, strict=True)
    assert sum(p.numel() for p in plain.parameters()) == params
