"""PSConv / HBONet configs load (upstream bases resolved), their backbones build by name with the declared channels
(on the meta device), and short real runs through tools/train.py on the tiny Shapes set."""
import glob
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmext.registry import get_registry
from tests.conftest import REPO, run_tool, shapes_overrides, write_config

CONFIGS = sorted(glob.glob(osp.join(REPO, 'configs/psconv/*.py')) + glob.glob(osp.join(REPO, 'configs/hbonet/*.py')))


def test_config_set_is_complete():
    names = {osp.basename(p) for p in CONFIGS}
    for det in ('faster-rcnn', 'mask-rcnn', 'cascade-rcnn', 'cascade-mask-rcnn'):
        for b in ('r50', 'r101', 'x101-32x4d'):
            assert f'{det}_ps-{b}_fpn_1x_coco.py' in names
    for w in ('1.0', '0.8', '0.5', '0.35', '0.25', '0.1'):
        assert f'hbonet-{w}x_8xb32-150e_in1k.py' in names
    assert {'ps-resnet50_8xb32-120e_in1k.py', 'ps-resnet101_8xb32-120e_in1k.py',
            'ps-resnext101-32x4d_8xb32-120e_in1k.py'} <= names


@pytest.mark.parametrize('path', CONFIGS, ids=[osp.basename(p) for p in CONFIGS])
def test_config_loads_and_backbone_builds(path):
    cfg = Config.fromfile(path)
    assert cfg.custom_imports == dict(imports=['mmext'], allow_failed_imports=False)
    assert cfg.default_scope == ('mmdet' if ('coco' in path or '_shapes.py' in path) else 'mmpretrain')
    if cfg.model.backbone.type not in ('PSResNet', 'PSResNeXt', 'HBONet'):
        return  # an upstream baseline (mmpretrain / mmdet ResNet, MobileNetV2): loading is what is checked
    init_default_scope(cfg.default_scope)
    with torch.device('meta'):
        model = get_registry(cfg.default_scope, 'MODELS').build(cfg.model.backbone)
    channels = list(model.out_channels)
    neck = cfg.model.get('neck')
    if neck and 'in_channels' in neck:
        assert list(neck.in_channels) == channels
    head = cfg.model.get('head')
    if head and 'in_channels' in head:
        assert head.in_channels == channels[-1]
    if 'coco' in path:
        assert cfg.model.backbone.frozen_stages == 1 and cfg.model.backbone.norm_eval
        assert cfg.train_cfg.max_epochs == 12
        x101 = 'x101' in path
        assert (cfg.model.backbone.get('release_compat', False), cfg.model.backbone.get('groups', 1)) == \
            ((True, 32) if x101 else (False, 1))


@pytest.mark.slow
def test_ps_and_hbonet_shapes_train(tiny_shapes, tmp_path):
    cls = write_config(str(tmp_path / 'cls.py'), 'configs/hbonet/hbonet-1.0x_1xb32-8e_shapes-cls.py',
                       shapes_overrides(tiny_shapes, 'cls') +
                       "\nmodel = dict(backbone=dict(widen_factor=0.25))"
                       '\ntrain_cfg = dict(max_epochs=1, val_interval=1)')
    out = run_tool(['tools/train.py', cls, '--work-dir', str(tmp_path / 'c')])
    assert re.search(r'accuracy/top1: [0-9.]+', out.stdout + out.stderr)
    det = write_config(str(tmp_path / 'det.py'), 'configs/psconv/fcos_ps-r50-c32_fpn_1xb8-12e_shapes.py',
                       shapes_overrides(tiny_shapes, 'det') +
                       "\nmodel = dict(backbone=dict(base_channels=16), neck=dict(in_channels=[128, 256, 512]))"
                       '\ntrain_cfg = dict(max_epochs=1, val_interval=1)'
                       '\ndefault_hooks = dict(logger=dict(interval=1))')
    out = run_tool(['tools/train.py', det, '--work-dir', str(tmp_path / 'd')])
    text = out.stdout + out.stderr
    assert re.search(r'Epoch\(train\) +\[1\]\[6/6\].*loss: [0-9.]+', text)
    assert re.search(r'Epoch\(val\) +\[1\]\[3/3\]', text)  # COCO evaluation ran (a 1-epoch model may predict
    assert re.search(r'coco/bbox_mAP: [0-9.]+|testing results of the whole dataset is empty', text)  # nothing)
