"""mmext as an OpenMMLab package for openmim: a wheel built from this tree ships configs, tools and the model
index in ``mmext/.mim``, so ``mim search mmext`` lists the model index and ``mim train mmext CONFIG`` runs the
packaged ``tools/train.py``. The wheel is built from a copy of the tree in a tmp dir and installed into another
tmp dir (``pip install --target``), never into the environment."""
import os
import os.path as osp
import shutil
import subprocess
import sys

import pytest
import yaml

from tests.conftest import REPO, shapes_overrides

pytest.importorskip('mim')

SHIPPED = ('setup.py', 'README.md', 'model-index.yml', 'mmext', 'configs', 'tools', 'requirements')


def _run(args, cwd, env, timeout=600):
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f'{args} exited {proc.returncode}\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}'
    return proc.stdout + proc.stderr


@pytest.fixture(scope='module')
def installed(tmp_path_factory):
    src = tmp_path_factory.mktemp('src')
    for name in SHIPPED:
        copy = shutil.copytree if osp.isdir(osp.join(REPO, name)) else shutil.copyfile
        kwargs = dict(ignore=shutil.ignore_patterns('__pycache__', '.mim')) if copy is shutil.copytree else {}
        copy(osp.join(REPO, name), str(src / name), **kwargs)
    wheels, site = tmp_path_factory.mktemp('wheels'), tmp_path_factory.mktemp('site')
    env = dict(os.environ, PYTHONPATH='', PIP_NO_INDEX='1')
    _run([sys.executable, '-m', 'pip', 'wheel', str(src), '--no-deps', '--no-build-isolation', '-w', str(wheels),
          '-q'], str(src), env)
    wheel = next(p for p in os.listdir(wheels) if p.endswith('.whl'))
    _run([sys.executable, '-m', 'pip', 'install', '--no-deps', '--target', str(site), str(wheels / wheel), '-q'],
         str(src), env)
    return str(site)


def _env(site):
    return dict(os.environ, PYTHONPATH=site, OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1')


def test_wheel_ships_mim_files(installed):
    mim_dir = osp.join(installed, 'mmext', '.mim')
    for name in ('model-index.yml', 'configs/quickstart/fcos_r18-c32_fpn_1xb8-12e_shapes.py', 'tools/train.py',
                 'tools/test.py', 'configs/_base_/datasets/shapes_detection.py'):
        assert osp.isfile(osp.join(mim_dir, name)), name


def test_mim_search_lists_the_model_index(installed, tmp_path):
    out = _run([sys.executable, '-m', 'mim', 'search', 'mmext'], str(tmp_path), _env(installed))
    names = []
    for meta in yaml.safe_load(open(osp.join(REPO, 'model-index.yml')))['Import']:
        names += [m['Name'] for m in yaml.safe_load(open(osp.join(REPO, meta)))['Models']]
    missing = [n for n in names if f'config id: {n}' not in out]
    assert not missing, missing


@pytest.mark.slow
def test_mim_train_runs_the_packaged_tool(installed, tiny_shapes, tmp_path):
    base = osp.join(installed, 'mmext', '.mim', 'configs', 'quickstart', 'resnet18_1xb32-20e_shapes-cls.py')
    cfg = tmp_path / 'cls.py'
    cfg.write_text(f'_base_ = [{base!r}]\n' + shapes_overrides(tiny_shapes, 'cls') +
                   '\ntrain_cfg = dict(max_epochs=1, val_interval=1)\n')
    work = tmp_path / 'work'
    out = _run([sys.executable, '-m', 'mim', 'train', 'mmext', str(cfg), '--gpus', '0', '--launcher', 'none',
                '--work-dir', str(work)], str(tmp_path), _env(installed))
    assert 'accuracy/top1' in out, out[-3000:]
    assert osp.isfile(work / 'epoch_1.pth')
