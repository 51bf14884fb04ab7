"""Real, short runs through tools/train.py and tools/test.py for detection, classification and segmentation."""
import glob
import os.path as osp
import pickle
import re

import pytest
import torch

from tests.conftest import run_tool, shapes_overrides, write_config

QUICKSTART_DET = 'configs/quickstart/fcos_r18-c32_fpn_1xb8-12e_shapes.py'
# deterministic data order and no random flip, so an interrupted-and-resumed run can be compared exactly
DET_EXTRA = """
randomness = dict(seed=0)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(128, 128), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs')
]
train_dataloader.update(batch_sampler=None)
train_dataloader['dataset'].update(pipeline=train_pipeline)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1, max_keep_ckpts=5))
train_cfg = dict(max_epochs=2, val_interval=2)
# keep every box, so that a barely trained model still yields detections and the COCO metric is computed
model = dict(test_cfg=dict(score_thr=0.0))
"""


def _state(path):
    return torch.load(path, map_location='cpu', weights_only=False)


@pytest.fixture(scope='module')
def det_cfg(tiny_shapes, tmp_path_factory):
    path = str(tmp_path_factory.mktemp('det') / 'fcos_tiny.py')
    return write_config(path, QUICKSTART_DET, shapes_overrides(tiny_shapes, 'det') + DET_EXTRA)


@pytest.mark.slow
def test_det_train_resume_matches_uninterrupted_run_and_test_tool(det_cfg, tmp_path):
    full, part = str(tmp_path / 'full'), str(tmp_path / 'part')
    out = run_tool(['tools/train.py', det_cfg, '--work-dir', full])
    assert re.search(r'coco/bbox_mAP: [0-9.]+', out.stdout + out.stderr), 'validation ran with the COCO metric'
    # stop after epoch 1, then resume from the latest checkpoint in the work dir
    run_tool(['tools/train.py', det_cfg, '--work-dir', part, '--cfg-options', 'train_cfg.max_epochs=1'])
    resumed = run_tool(['tools/train.py', det_cfg, '--work-dir', part, '--resume'])
    log = resumed.stdout + resumed.stderr
    assert 'resumed epoch: 1' in log, log[-3000:]
    a, b = _state(osp.join(full, 'epoch_2.pth')), _state(osp.join(part, 'epoch_2.pth'))
    assert a['meta']['epoch'] == b['meta']['epoch'] == 2
    assert a['meta']['iter'] == b['meta']['iter'] > 0
    for key, value in a['state_dict'].items():
        assert torch.allclose(value.float(), b['state_dict'][key].float(), rtol=1e-4, atol=1e-5), key
    hist_a = a['message_hub']['log_scalars']['train/loss']
    hist_b = b['message_hub']['log_scalars']['train/loss']
    assert len(hist_b.data[0]) == len(hist_a.data[0]), 'the loss history continued across the resume'

    # --resume with an explicit checkpoint, into another work dir: resumes at epoch 2 = max_epochs, trains nothing
    out = run_tool(['tools/train.py', det_cfg, '--work-dir', str(tmp_path / 'explicit'), '--resume',
                    osp.join(part, 'epoch_2.pth')])
    assert 'resumed epoch: 2' in out.stdout + out.stderr

    # tools/test.py: evaluation, painted images and dumped predictions
    vis, preds = 'vis', str(tmp_path / 'preds.pkl')
    tested = run_tool(['tools/test.py', det_cfg, osp.join(part, 'epoch_2.pth'), '--work-dir', str(tmp_path / 't'),
                       '--show-dir', vis, '--out', preds])
    assert re.search(r'coco/bbox_mAP: [0-9.]+', tested.stdout + tested.stderr)
    assert len(glob.glob(str(tmp_path / 't' / vis / '*.png'))) == 6, 'every test image painted under the work dir'
    with open(preds, 'rb') as f:
        assert len(pickle.load(f)) == 6


@pytest.mark.slow
def test_cls_train(tiny_shapes, tmp_path):
    cfg = write_config(str(tmp_path / 'cls.py'), 'configs/quickstart/resnet18_1xb32-20e_shapes-cls.py',
                       shapes_overrides(tiny_shapes, 'cls') + '\ntrain_cfg = dict(max_epochs=1, val_interval=1)')
    out = run_tool(['tools/train.py', cfg, '--work-dir', str(tmp_path / 'w')])
    assert re.search(r'accuracy/top1: [0-9.]+', out.stdout + out.stderr)


@pytest.mark.slow
def test_seg_train(tiny_shapes, tmp_path):
    cfg = write_config(str(tmp_path / 'seg.py'), 'configs/quickstart/fcn_r18-d8_1xb8-2k_shapes-seg.py',
                       shapes_overrides(tiny_shapes, 'seg') +
                       '\ntrain_cfg = dict(max_iters=4, val_interval=4)\n'
                       'default_hooks = dict(checkpoint=dict(interval=4))')
    out = run_tool(['tools/train.py', cfg, '--work-dir', str(tmp_path / 'w')])
    assert re.search(r'mIoU: [0-9.]+', out.stdout + out.stderr)


def test_bad_config_errors_are_clear(tmp_path):
    from mmext.apis import load_config
    with pytest.raises(FileNotFoundError, match='does not exist'):
        load_config(str(tmp_path / 'nope.py'))
    p = tmp_path / 'noscope.py'
    p.write_text('model = dict(type="FCOS")\n')
    with pytest.raises(ValueError, match='default_scope must be one of'):
        load_config(str(p))


def test_analysis_tools(det_cfg):
    out = run_tool(['tools/analysis_tools/get_flops.py', det_cfg])
    assert re.search(r'params: \S+', out.stdout) and re.search(r'flops: \S+', out.stdout)
    out = run_tool(['tools/analysis_tools/benchmark_model.py', det_cfg, '--iters', '1', '--warmup', '0'])
    assert '"train_step"' in out.stdout and '"images_per_s"' in out.stdout


@pytest.mark.slow
def test_dist_train_sh_two_processes(det_cfg, tmp_path):
    """tools/dist_train.sh with torchrun: two CPU processes (gloo) train one epoch together."""
    import os
    import socket
    import subprocess
    import sys

    from tests.conftest import REPO
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    env = dict(os.environ, PYTHON=sys.executable, PORT=str(port), OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1')
    wd = str(tmp_path / 'ddp')
    had_dist_dir = osp.exists(osp.join(REPO, '.dist_test'))
    # mmengine's collect_results_cpu makes '.dist_test/' in the working directory for the distributed validation,
    # so the processes run from a tmp dir (the script is found through its absolute path)
    run_dir = tmp_path / 'cwd'
    run_dir.mkdir()
    proc = subprocess.run(['bash', osp.join(REPO, 'tools', 'dist_train.sh'), det_cfg, '2', '--work-dir', wd,
                           '--cfg-options', 'train_cfg.max_epochs=1'], cwd=str(run_dir), env=env,
                          capture_output=True, text=True, timeout=600)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-5000:]
    assert had_dist_dir or not osp.exists(osp.join(REPO, '.dist_test')), 'test artefacts stay in tmp dirs'
    assert re.search(r'Distributed training: True', log), log[-3000:]
    ckpt = _state(osp.join(wd, 'epoch_1.pth'))
    # 12 train images, batch 2 per process, 2 processes -> 3 iterations per epoch
    assert ckpt['meta']['iter'] == 3
