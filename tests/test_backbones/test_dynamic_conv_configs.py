"""ODConv / KernelWarehouse configs load (upstream bases resolved) and their backbones build by name.

One config per base file / task is checked (the others only override backbone arguments of these); the backbones
are built on the meta device, so only shapes are created.
"""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmext.registry import get_registry
from tests.conftest import REPO

CONFIGS = [
    osp.join(REPO, 'configs', p) for p in (
        'odconv/od-resnet18-4x_8xb32-100e_in1k.py',
        'odconv/od-mobilenet-v2-0.5x-4x_8xb32-150e_in1k.py',
        'odconv/faster-rcnn_od-mobilenet-v2-4x_fpn_1x_coco.py',
        'odconv/fpn_od-r50-4x_4xb4-160k_ade20k-512x512.py',
        'odconv/od-resnet18-4x-c32_1xb32-8e_shapes-cls.py',
        'odconv/od-resnet18-4x-c32-ptinit_1xb32-8e_shapes-cls.py',
        'kernelwarehouse/kw-resnet18-0.25x_32xb128-300e_in1k.py',
        'kernelwarehouse/kw-mobilenet-v2-0.5x-1x_8xb32-150e_in1k.py',
        'kernelwarehouse/mask-rcnn_kw-convnext-tiny-1x_fpn_1x_coco.py',
        'kernelwarehouse/fcos_kw-resnet18-1x-c32_fpn_1xb8-12e_shapes.py',
    )
]


def test_every_config_is_listed_or_derived():
    """Every config not checked below inherits one of the checked ones or an upstream base it shares with them."""
    files = glob.glob(osp.join(REPO, 'configs/odconv/*.py')) + glob.glob(osp.join(REPO, 'configs/kernelwarehouse/*.py'))
    assert len(files) >= 40
    for f in files:
        text = open(f).read()
        assert "custom_imports = dict(imports=['mmext'], allow_failed_imports=False)" in text or '_base_ = [\'./' in \
            text or "_base_ = ['../" in text, f


@pytest.mark.parametrize('path', CONFIGS, ids=[osp.basename(p) for p in CONFIGS])
def test_config_loads_and_backbone_builds(path):
    cfg = Config.fromfile(path)
    assert cfg.custom_imports == dict(imports=['mmext'], allow_failed_imports=False)
    backbone = cfg.model.backbone
    assert backbone.type in ('ODResNet', 'ODMobileNetV2', 'KWResNet', 'KWMobileNetV2', 'KWConvNeXt')
    hooks = [h['type'] for h in cfg.get('custom_hooks', [])]
    if 'in1k' in path or 'shapes' in path:  # trained from scratch: the temperature schedule is on
        assert ('ODConvTemperatureHook' if backbone.type.startswith('OD') else 'KWTemperatureHook') in hooks
    init_default_scope(cfg.default_scope)
    with torch.device('meta'):
        model = get_registry(cfg.default_scope, 'MODELS').build(backbone)
    channels = model.out_channels
    neck = cfg.model.get('neck')
    if neck and 'in_channels' in neck:  # FPN inputs match the declared backbone channels
        assert list(neck.in_channels) == list(channels)
    head = cfg.model.get('head')
    if head and 'in_channels' in head:
        assert head.in_channels == channels[-1]
