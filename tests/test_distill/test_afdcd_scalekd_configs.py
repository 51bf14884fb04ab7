"""Every Af-DCD and ScaleKD config parses and builds without its teacher; the students have their published sizes
and export into their plain configs."""
import copy
import glob
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope

import mmext  # noqa: F401
from tests.conftest import REPO

CONFIGS = sorted(glob.glob(osp.join(REPO, 'configs', 'afdcd', '*.py')) +
                 glob.glob(osp.join(REPO, 'configs', 'scalekd', '*.py')))

# students of the ScaleKD configs: mmpretrain's published parameter counts
PARAMS = {
    'scalekd_swin-l-r50_8xb32-100e_in1k.py': 25_557_032,
    'scalekd_swin-l-mbv2_8xb32-300e_in1k.py': 3_504_872,
    'scalekd_swin-l-convnext-t_32xb128-300e_in1k.py': 28_589_128,
    'scalekd_swin-l-deit-s_4xb256-300e_in1k.py': 22_050_664,
    'scalekd_swin-l-deit-b_16xb64-300e_in1k.py': 86_567_656,
    'scalekd_swin-l-swin-t_16xb64-300e_in1k.py': 28_288_354,
    'scalekd_swin-l-mixer-b_64xb64-300e_in1k.py': 59_880_472,
}


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: osp.basename(p))
def test_config_builds_without_teacher(path):
    cfg = Config.fromfile(path)
    assert cfg.default_scope in ('mmpretrain', 'mmseg')
    assert cfg.custom_imports['imports'] == ['mmext']
    init_default_scope(cfg.default_scope)
    if cfg.model.type not in ('AfDCDDistiller', 'ScaleKDDistiller', 'FeatureDistiller'):
        MODELS.build(copy.deepcopy(cfg.model))
        return
    assert cfg.model.get('teacher_ckpt'), 'a distillation config names its teacher checkpoint'
    model = MODELS.build(dict(cfg.model, build_teacher=False))
    assert not model.has_teacher
    plain = MODELS.build(copy.deepcopy(cfg.model.student))
    plain.load_state_dict(model.export_state_dict(), strict=True)
    if osp.basename(path) in PARAMS:
        assert sum(p.numel() for p in plain.parameters()) == PARAMS[osp.basename(path)]
