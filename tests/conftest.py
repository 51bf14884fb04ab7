"""Shared fixtures: a tiny Shapes set and helpers to write derived configs; the ``cuda`` marker's skip."""
import os
import os.path as osp
import subprocess
import sys
from typing import List

import pytest
import torch

import mmext  # noqa: F401  (registers mmext's modules for tests that build from registries)

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
TINY_SHAPES = dict(num_train=12, num_val=6, img_size=128, seed=3, max_things=4, splits=['train', 'val'])


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason='needs a CUDA GPU; none is visible (see docs/gpu.md to run these)')
    for item in items:
        if 'cuda' in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope='session')
def tiny_shapes(tmp_path_factory) -> str:
    """A tiny Shapes set generated once per test session; returns its data_root (with a trailing slash)."""
    from mmext.datasets.shapes import ensure_shapes
    root = str(tmp_path_factory.mktemp('shapes') / 'tiny') + '/'
    ensure_shapes(root, TINY_SHAPES)
    return root


def write_config(path: str, base: str, body: str) -> str:
    """Write a config at ``path`` that inherits ``base`` (a path relative to the repo) and adds ``body``."""
    with open(path, 'w') as f:
        f.write(f'_base_ = [{osp.join(REPO, base)!r}]\n{body}\n')
    return path


def shapes_overrides(data_root: str, kind: str) -> str:
    """Config lines pointing a Shapes base config at ``data_root`` with the tiny generator settings."""
    lines = [f'data_root = {data_root!r}', f'shapes_cfg = {TINY_SHAPES!r}']
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        lines.append(f'{loader} = dict(batch_size=2, num_workers=0, persistent_workers=False, '
                     f'dataset=dict(data_root=data_root, shapes_cfg=shapes_cfg))')
    if kind == 'det':
        lines.append("val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')")
        lines.append('test_evaluator = val_evaluator')
    return '\n'.join(lines)


def run_tool(args: List[str], timeout: int = 600) -> subprocess.CompletedProcess:
    """Run a repo tool with this interpreter from the repo root; fail the test with its output on error."""
    env = dict(os.environ, PYTHONUNBUFFERED='1', OMP_NUM_THREADS=os.environ.get('OMP_NUM_THREADS', '2'))
    proc = subprocess.run([sys.executable] + args, cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=timeout)
    if proc.returncode != 0:
        pytest.fail(f'{" ".join(args)} exited {proc.returncode}\n--- stdout ---\n{proc.stdout[-6000:]}\n'
                    f'--- stderr ---\n{proc.stderr[-6000:]}')
    return proc
