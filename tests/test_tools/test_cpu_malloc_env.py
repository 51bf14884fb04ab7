"""tools/cpu_malloc_env.py: the tools re-execute once with glibc's large-block settings, unless told not to."""
import os
import platform
import subprocess
import sys

import pytest

from tests.conftest import REPO

PROBE = ('import os, sys; sys.path.insert(0, "tools"); from cpu_malloc_env import reexec_with_malloc_env; '
         'print("start", os.getpid(), flush=True); reexec_with_malloc_env(); '
         'print("env", os.environ.get("MALLOC_MMAP_THRESHOLD_"), os.environ.get("MALLOC_TRIM_THRESHOLD_"), '
         'sys.argv[1:])')


def _probe(env_update: dict) -> list:
    env = {k: v for k, v in os.environ.items() if not k.startswith('MALLOC_') and k != 'MMEXT_MALLOC_ENV'}
    env.update(env_update)
    out = subprocess.run([sys.executable, '-c', PROBE, 'a', '--b=1'], cwd=REPO, env=env, capture_output=True,
                         text=True, timeout=60, check=True).stdout
    return out.split('\n')


@pytest.mark.skipif(not sys.platform.startswith('linux') or platform.libc_ver()[0] != 'glibc',
                    reason='the re-exec applies to glibc on Linux only')
def test_reexec_sets_the_malloc_env_once_and_keeps_the_arguments():
    lines = _probe({})
    starts = [ln for ln in lines if ln.startswith('start')]
    assert len(starts) == 2 and len({ln.split()[1] for ln in starts}) == 1, 'one re-exec, same process'
    assert f"env {4 << 30} {64 << 30} ['a', '--b=1']" in lines
    # a user's own value is kept, and the other one is added
    assert f"env 12345 {64 << 30} ['a', '--b=1']" in _probe({'MALLOC_MMAP_THRESHOLD_': '12345'})
    # switched off: no re-exec, nothing set
    lines = _probe({'MMEXT_MALLOC_ENV': '0'})
    assert len([ln for ln in lines if ln.startswith('start')]) == 1 and "env None None ['a', '--b=1']" in lines
