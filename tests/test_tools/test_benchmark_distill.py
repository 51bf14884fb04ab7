"""tools/analysis_tools/benchmark_distill.py: one tiny run per variant, rows with a ratio and peak memory."""
import json

import pytest

from tests.conftest import run_tool


@pytest.mark.slow
def test_benchmark_distill_tiny_run():
    out = run_tool(['tools/analysis_tools/benchmark_distill.py', '--methods', 'norm', '--batch-size', '2',
                    '--size', '32', '--iters', '2', '--warmup', '0', '--repeats', '1', '--device', 'cpu'])
    result = json.loads(out.stdout[out.stdout.index('{\n'):])
    assert [r['method'] for r in result['rows']] == ['norm']
    for row in result['rows']:
        assert row['baseline_ms'] > 0 and row['distill_ms'] > 0
        assert row['time_ratio'] == pytest.approx(row['distill_ms'] / row['baseline_ms'])
        # both variants timed in one process, interleaved: one baseline and one distill step per timed iteration
        assert row['timed_pairs'] == 2 and row['pair_ratio_median'] > 0
        assert row['distill_peak_mib'] >= 0 and row['baseline_peak_mib'] >= 0


def test_benchmark_distill_rejects_bad_arguments():
    import subprocess
    import sys

    from tests.conftest import REPO
    proc = subprocess.run([sys.executable, 'tools/analysis_tools/benchmark_distill.py', '--methods', 'fitnet'],
                          cwd=REPO, capture_output=True, text=True)
    assert proc.returncode != 0 and "unknown method 'fitnet'" in proc.stderr
