"""A short real run of KW-MobileNetV2 1/2x (KWLinearClsHead) through tools/train.py on the tiny Shapes set: the
loop, validation, the checkpoint (head warehouse included) and the saved tau of the temperature schedule."""
import re

import pytest
import torch

from tests.conftest import run_tool, shapes_overrides, write_config


@pytest.mark.slow
def test_kw_mbv2_half_cls_train(tiny_shapes, tmp_path):
    base = 'configs/kernelwarehouse/kw-mobilenet-v2-0.5x-0.5x_1xb32-8e_shapes-cls.py'
    cfg = write_config(str(tmp_path / 'cls.py'), base,
                       shapes_overrides(tiny_shapes, 'cls') + '\ntrain_cfg = dict(max_epochs=1, val_interval=1)'
                       '\ncustom_hooks = [dict(type="KWTemperatureHook", temp_epochs=2)]'
                       '\ndefault_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1))')
    wd = str(tmp_path / 'w')
    out = run_tool(['tools/train.py', cfg, '--work-dir', wd])
    log = out.stdout + out.stderr
    assert re.search(r'Epoch\(train\) +\[1\]\[\d+/\d+\].*loss: [0-9.]+', log)
    assert re.search(r'accuracy/top1: [0-9.]+', log)
    ckpt = torch.load(f'{wd}/epoch_1.pth', map_location='cpu', weights_only=False)
    assert ckpt['state_dict']['head.warehouse_manager.weights.0'].shape == (20, 5, 32)
    # one epoch of the two scheduled: tau = 1 - 1/2
    assert ckpt['message_hub']['runtime_info']['kw_temperature'] == pytest.approx(0.5)
