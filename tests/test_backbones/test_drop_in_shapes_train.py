"""Short real runs through tools/train.py with the drop-in arguments that change training: OD-MobileNetV2 with
``norm_cfg=dict(type='SyncBN')`` (reverted to BN by mmengine's runner when not distributed) and ``with_cp=True``,
and KW-ConvNeXt with mmpretrain ConvNeXt's arguments (``drop_path_rate``, ``use_grn``, no neck, as mmpretrain's
ConvNeXt classifier configs), each with its temperature hook."""
import re

import pytest

from tests.conftest import run_tool, shapes_overrides, write_config

BASE = 'configs/quickstart/resnet18_1xb32-20e_shapes-cls.py'
RUNS = {
    'od_mobilenetv2_syncbn_cp': (
        "model = dict(backbone=dict(_delete_=True, type='ODMobileNetV2', widen_factor=0.5, kernel_num=2, "
        "norm_cfg=dict(type='SyncBN', requires_grad=True), with_cp=True), head=dict(in_channels=1280))\n"
        "custom_hooks = [dict(type='ODConvTemperatureHook', temp_epochs=1)]"),
    'kw_convnext_small': (
        "model = dict(backbone=dict(_delete_=True, type='KWConvNeXt', arch=dict(depths=[1, 1, 2, 1], "
        "channels=[16, 32, 64, 128]), drop_path_rate=0.1, use_grn=True, layer_scale_init_value=0.0), neck=None, "
        "head=dict(in_channels=128))\n"
        "custom_hooks = [dict(type='KWTemperatureHook', temp_epochs=1)]"),
}


@pytest.mark.slow
@pytest.mark.parametrize('name', sorted(RUNS))
def test_drop_in_arguments_train(name, tiny_shapes, tmp_path):
    body = shapes_overrides(tiny_shapes, 'cls') + '\ntrain_cfg = dict(max_epochs=1, val_interval=1)\n' + RUNS[name]
    cfg = write_config(str(tmp_path / f'{name}.py'), BASE, body)
    out = run_tool(['tools/train.py', cfg, '--work-dir', str(tmp_path / 'w')])
    log = out.stdout + out.stderr
    assert re.search(r'accuracy/top1: [0-9.]+', log)
    assert re.search(r'Epoch\(train\) +\[1\]\[\d+/\d+\].*loss: [0-9.]+', log)
    assert 'without ODConvTemperatureHook' not in log and 'without KWTemperatureHook' not in log
    if 'syncbn' in name:
        assert re.search(r'SyncBatchNorm.*reverted to BatchNormXd', log), 'mmengine reverts SyncBN off DDP'
