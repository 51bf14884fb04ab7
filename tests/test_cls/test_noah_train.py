"""A short real run of ResNet-18 + NOAH on tiny Shapes through tools/train.py (validation included)."""
import math
import re

import pytest

from tests.conftest import run_tool, shapes_overrides, write_config


@pytest.mark.slow
def test_noah_shapes_train(tiny_shapes, tmp_path):
    cfg = write_config(str(tmp_path / 'noah.py'), 'configs/noah/resnet18_noah_1xb32-20e_shapes-cls.py',
                       shapes_overrides(tiny_shapes, 'cls') + '\ntrain_cfg = dict(max_epochs=1, val_interval=1)'
                       '\ndefault_hooks = dict(logger=dict(interval=1))')
    out = run_tool(['tools/train.py', cfg, '--work-dir', str(tmp_path / 'w')])
    log = out.stdout + out.stderr
    assert re.search(r'accuracy/top1: [0-9.]+', log)
    losses = re.findall(r' loss: ([-+0-9.a-z]+)', log)
    assert losses and all(math.isfinite(float(v)) for v in losses), 'finite training losses were logged'
