"""tools/analysis_tools/benchmark_psconv.py: the interleaving (rotated order, same-repetition ratios) and a tiny
real run of every case (timings are never asserted, only their bookkeeping)."""
import importlib.util
import os.path as osp

import pytest

from tests.conftest import REPO


def _tool():
    spec = importlib.util.spec_from_file_location('benchmark_psconv',
                                                  osp.join(REPO, 'tools/analysis_tools/benchmark_psconv.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


bench = _tool()


def test_interleaved_order_rotates_and_counts_calls():
    calls = []
    cases = {n: (lambda n=n: calls.append(n)) for n in 'abc'}
    times = bench.interleaved_times(cases, repeats=3, iters=2, warmup=1)
    assert calls[:3] == ['a', 'b', 'c']  # warm-up
    assert calls[3:] == ['a'] * 2 + ['b'] * 2 + ['c'] * 2 + ['b'] * 2 + ['c'] * 2 + ['a'] * 2 + \
        ['c'] * 2 + ['a'] * 2 + ['b'] * 2
    assert {n: len(t) for n, t in times.items()} == {'a': 3, 'b': 3, 'c': 3}
    with pytest.raises(ValueError, match='repeats and iters must be >= 1'):
        bench.interleaved_times(cases, repeats=0, iters=1, warmup=0)


def test_ratio_is_taken_within_each_repetition():
    # a load step between repetitions doubles both timings: same-repetition ratios stay at 2
    times = {'x': [2.0, 4.0, 40.0], 'base': [1.0, 2.0, 20.0]}
    assert bench.ratio_summary(times, 'x', 'base') == (2.0, 2.0, 2.0)
    times = {'x': [3.0, 2.0, 5.0], 'base': [1.0, 1.0, 1.0]}
    assert bench.ratio_summary(times, 'x', 'base') == (3.0, 2.0, 5.0)


def test_tiny_run_rows_and_markdown():
    rows = bench.bench_ops(batch=1, warmup=0, iters=1, repeats=2, stages=((8, 6), ))
    assert [r['model'] for r in rows] == ['conv', 'dilated', 'psconv', 'psconv_release']
    assert [r['params'] for r in rows] == [576, 576, 576, 864]  # compact = plain conv, release 1.5x
    assert all(len(r['fwd_ms']) == len(r['train_ms']) == 2 and min(r['fwd_ms']) > 0 for r in rows)
    md = bench.to_markdown(rows)
    assert '| 8@6 | 1 | conv | 576 |' in md and '| 1.00 (1.00-1.00) |' in md  # conv against itself
