"""Short real runs through tools/train.py on the tiny Shapes set: classification with an OD backbone and detection
with a KW backbone (with their temperature hooks); the resumed temperature is checked against the schedule."""
import re

import pytest
import torch

from tests.conftest import run_tool, shapes_overrides, write_config


@pytest.mark.slow
def test_od_cls_and_kw_det_train(tiny_shapes, tmp_path):
    cls = write_config(str(tmp_path / 'cls.py'), 'configs/odconv/od-resnet18-4x-c32_1xb32-8e_shapes-cls.py',
                       shapes_overrides(tiny_shapes, 'cls') + '\ntrain_cfg = dict(max_epochs=1, val_interval=1)')
    out = run_tool(['tools/train.py', cls, '--work-dir', str(tmp_path / 'c')])
    assert re.search(r'accuracy/top1: [0-9.]+', out.stdout + out.stderr)

    det = write_config(str(tmp_path / 'det.py'),
                       'configs/kernelwarehouse/fcos_kw-resnet18-1x-c32_fpn_1xb8-12e_shapes.py',
                       shapes_overrides(tiny_shapes, 'det') +
                       '\ntrain_cfg = dict(max_epochs=1, val_interval=2)'  # no validation: kept short
                       '\ncustom_hooks = [dict(type="KWTemperatureHook", temp_epochs=2)]'
                       '\ndefault_hooks = dict(logger=dict(interval=1))')
    wd = str(tmp_path / 'd')
    out = run_tool(['tools/train.py', det, '--work-dir', wd])
    assert re.search(r'Epoch\(train\) +\[1\]\[6/6\].*loss: [0-9.]+', out.stdout + out.stderr)
    ckpt = torch.load(f'{wd}/epoch_1.pth', map_location='cpu', weights_only=False)
    # 12 images, batch 2: 6 iterations; tau after the 6th of 12 scheduled iterations is 1 - 6/12
    assert ckpt['meta']['iter'] == 6
    assert ckpt['message_hub']['runtime_info']['kw_temperature'] == pytest.approx(0.5)
