"""A real NORM run through tools/train.py on tiny Shapes: no teacher keys in checkpoints, resume restores the
scheduled loss weight, and the exported (folded) student scores exactly the same through tools/test.py with the
student's own config."""
import importlib.util
import os.path as osp
import re

import pytest
import torch

from tests.conftest import REPO, run_tool, shapes_overrides, write_config
from tests.test_distill.helpers import save_teacher, tiny_classifier

NORM_SHAPES = 'configs/norm/norm_r34-r18-w16_1xb32-6e_shapes-cls.py'


def _export_module():
    spec = importlib.util.spec_from_file_location(
        'export_student', osp.join(REPO, 'tools/model_converters/export_student.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _top1(log: str) -> float:
    found = re.findall(r'accuracy/top1: ([0-9.]+)', log)
    assert found, log[-3000:]
    return float(found[-1])


@pytest.mark.slow
def test_norm_train_resume_export_and_test_student(tiny_shapes, tmp_path):
    teacher = tiny_classifier(depth=34, width=16)
    teacher.pop('data_preprocessor')
    ckpt = save_teacher(str(tmp_path / 'teacher.pth'), teacher)
    student = tiny_classifier()
    student.pop('data_preprocessor')
    body = shapes_overrides(tiny_shapes, 'cls') + f"""
model = dict(student=dict(_delete_=True, **{student!r}), teacher=dict(_delete_=True, **{teacher!r}),
             teacher_ckpt={ckpt!r}, in_channels=64, teacher_channels=128)
custom_hooks = [dict(type='DistillLossWeightHook', milestones=[1], values=[0.5, 0.25])]
train_cfg = dict(max_epochs=2, val_interval=1)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1, max_keep_ckpts=3))
randomness = dict(seed=0)
"""
    cfg = write_config(str(tmp_path / 'norm_tiny.py'), NORM_SHAPES, body)
    wd = str(tmp_path / 'w')
    run_tool(['tools/train.py', cfg, '--work-dir', wd, '--cfg-options', 'train_cfg.max_epochs=1'])
    out = run_tool(['tools/train.py', cfg, '--work-dir', wd, '--resume'])
    log = out.stdout + out.stderr
    assert 'resumed epoch: 1' in log, log[-3000:]
    distill_top1 = _top1(log)
    assert re.search(r'distill\.loss_norm: [0-9.]+', log) and re.search(r'student\.loss: [0-9.]+', log)

    state = torch.load(osp.join(wd, 'epoch_2.pth'), map_location='cpu', weights_only=False)
    keys = list(state['state_dict'])
    assert keys and not [k for k in keys if 'teacher' in k], 'no teacher weights in checkpoints'
    assert {k.split('.')[0] for k in keys} == {'student', 'feature_transform', 'distill_loss_scale'}
    assert float(state['state_dict']['distill_loss_scale']) == 0.25, 'epoch-2 value of the schedule, resumed'
    first = torch.load(osp.join(wd, 'epoch_1.pth'), map_location='cpu', weights_only=False)
    assert float(first['state_dict']['distill_loss_scale']) == 0.5

    # export: plain, folded student + its own config, then tools/test.py on them
    exported_path, student_cfg = str(tmp_path / 'student.pth'), str(tmp_path / 'student_cfg.py')
    _export_module().export_student(cfg, osp.join(wd, 'epoch_2.pth'), exported_path, out_config=student_cfg)
    exported = torch.load(exported_path, map_location='cpu', weights_only=True)['state_dict']
    assert not [k for k in exported if k.startswith(('student.', 'feature_transform'))]
    tested = run_tool(['tools/test.py', student_cfg, exported_path, '--work-dir', str(tmp_path / 't')])
    assert _top1(tested.stdout + tested.stderr) == pytest.approx(distill_top1, abs=1e-6)
