"""Short real runs of the Af-DCD (mmseg) and ScaleKD (mmpretrain) Shapes configs through tools/train.py on tiny
Shapes: the distillation terms are logged, checkpoints hold no teacher weights, and the exported student scores the
same through tools/test.py with the student's own config."""
import copy
import importlib.util
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config

from tests.conftest import REPO, run_tool, shapes_overrides, write_config
from tests.test_distill.afdcd_scalekd_helpers import save_model

AFDCD = 'configs/afdcd/afdcd_r18-w16-r18-w16-d8_1xb8-800_shapes-seg-128.py'
# (distillation config, its teacher's config): the Swin teacher of the Shapes table and the ViT-teacher variant
SCALEKD = [('configs/scalekd/scalekd_swin-p4-r18-w16_1xb32-6e_shapes-cls.py',
            'configs/scalekd/swin-p4-d16_1xb16-100e_shapes-cls.py'),
           ('configs/scalekd/scalekd_vit-p8-r18-w16_1xb32-6e_shapes-cls.py',
            'configs/scalekd/vit-p8-d64_1xb32-10e_shapes-cls.py')]


def _export(*args, **kwargs):
    spec = importlib.util.spec_from_file_location(
        'export_student', osp.join(REPO, 'tools/model_converters/export_student.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.export_student(*args, **kwargs)


def _metric(log: str, key: str) -> float:
    found = re.findall(key + r': ([0-9.]+)', log)
    assert found, log[-3000:]
    return float(found[-1])


def _check_and_export(tmp_path, cfg, ckpt, prefixes):
    state = torch.load(ckpt, map_location='cpu', weights_only=False)['state_dict']
    assert state and not [k for k in state if 'teacher' in k], 'no teacher weights in checkpoints'
    assert {k.split('.')[0] for k in state} == prefixes
    out, student_cfg = str(tmp_path / 'student.pth'), str(tmp_path / 'student_cfg.py')
    exported = _export(cfg, ckpt, out, out_config=student_cfg)
    assert not [k for k in exported if k.split('.')[0] in prefixes - {'student'}]
    return run_tool(['tools/test.py', student_cfg, out, '--work-dir', str(tmp_path / 't')])


@pytest.mark.slow
def test_afdcd_shapes_config_trains_and_exports(tiny_shapes, tmp_path):
    teacher_cfg = Config.fromfile(osp.join(REPO, 'configs/afdcd/deeplabv3_r18-w16-d8_1xb8-2400_shapes-seg-128.py'))
    ckpt = save_model(str(tmp_path / 'teacher.pth'), copy.deepcopy(teacher_cfg.model), 'mmseg')
    body = shapes_overrides(tiny_shapes, 'seg') + f"""
model = dict(teacher_ckpt={ckpt!r})
train_cfg = dict(max_iters=3, val_interval=3)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=3))
"""
    cfg = write_config(str(tmp_path / 'afdcd_tiny.py'), AFDCD, body)
    wd = str(tmp_path / 'w')
    log = run_tool(['tools/train.py', cfg, '--work-dir', wd])
    log = log.stdout + log.stderr
    for key in ('distill.loss_fd', 'distill.loss_ctr', 'distill.loss_kd', 'student.decode.loss_ce',
                'student.aux.loss_ce'):
        assert re.search(re.escape(key) + r': [0-9.]+', log), key
    miou = _metric(log, 'mIoU')
    tested = _check_and_export(tmp_path, cfg, osp.join(wd, 'iter_3.pth'),
                               {'student', 'projector', 'distill_loss_scale'})
    assert _metric(tested.stdout + tested.stderr, 'mIoU') == pytest.approx(miou, abs=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize('config,teacher', SCALEKD, ids=['swin', 'vit'])
def test_scalekd_shapes_config_trains_and_exports(config, teacher, tiny_shapes, tmp_path):
    teacher_cfg = Config.fromfile(osp.join(REPO, teacher))
    ckpt = save_model(str(tmp_path / 'teacher.pth'), copy.deepcopy(teacher_cfg.model), 'mmpretrain')
    body = shapes_overrides(tiny_shapes, 'cls') + f"""
model = dict(teacher_ckpt={ckpt!r})
train_cfg = dict(max_epochs=1, val_interval=1)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1))
"""
    cfg = write_config(str(tmp_path / 'scalekd_tiny.py'), config, body)
    wd = str(tmp_path / 'w')
    log = run_tool(['tools/train.py', cfg, '--work-dir', wd])
    log = log.stdout + log.stderr
    for key in ('distill.loss_s3_spat', 'distill.loss_s3_freq', 'distill.loss_s4_spat', 'distill.loss_s4_freq',
                'distill.loss_kd', 'student.loss'):
        assert re.search(re.escape(key) + r': [0-9.]+', log), key
    top1 = _metric(log, 'accuracy/top1')
    tested = _check_and_export(tmp_path, cfg, osp.join(wd, 'epoch_1.pth'),
                               {'student', 'projectors', 'distill_loss_scale'})
    assert _metric(tested.stdout + tested.stderr, 'accuracy/top1') == pytest.approx(top1, abs=1e-6)
