"""tools/setup_env.sh: on a complete environment a second run installs nothing and succeeds."""
import os
import os.path as osp
import subprocess
import sys

import pytest

from tests.conftest import REPO


def test_setup_env_is_idempotent():
    venv = os.environ.get('MMEXT_VENV', osp.join(REPO, '.venv'))
    if osp.realpath(sys.prefix) != osp.realpath(venv):
        pytest.skip(f'the suite is not running inside the project environment {venv}')
    proc = subprocess.run(['bash', 'tools/setup_env.sh'], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'installing' not in proc.stderr and 'building' not in proc.stderr, proc.stderr[-3000:]


def test_ops_check_fails_clearly_on_a_broken_environment(tmp_path):
    """Point the script at an 'environment' whose python cannot import mmcv's ops: it must stop with a message."""
    fake = tmp_path / 'venv'
    (fake / 'bin').mkdir(parents=True)
    py = fake / 'bin' / 'python'
    py.write_text(f'#!/bin/sh\nexec {sys.executable} -S -c "import sys; sys.modules[\'mmcv\']=None; '
                  f'exec(sys.stdin.read())" "$@"\n')
    py.chmod(0o755)
    stamp_dir = fake
    # a stamp with the current key makes the script go straight to the ops check
    key = subprocess.run(['bash', '-c', 'cat tools/setup_env.sh requirements/*.txt setup.py | sha1sum | cut -c1-12'],
                         cwd=REPO, capture_output=True, text=True).stdout.strip()
    (stamp_dir / f'.mmext-stack-{key}').write_text('')
    env = dict(os.environ, MMEXT_VENV=str(fake), MMEXT_PYTHON='/nonexistent-python')
    proc = subprocess.run(['bash', 'tools/setup_env.sh'], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode != 0
    assert "mmcv compiled ops do not load" in proc.stderr
