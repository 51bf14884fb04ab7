"""tools/analysis_tools/benchmark_dynamic_conv.py and mmext.utils.release_import: a tiny run with its ratios, the
isolated import of a (synthetic) release checkout, bad arguments."""
import json
import sys

import pytest
import torch.nn as nn

from mmext.utils.release_import import detect_release, release_builders
from tests.conftest import run_tool


@pytest.mark.slow  # as the other benchmark tools' tiny runs (about 30 s)
def test_benchmark_tiny_run(tmp_path):
    out = tmp_path / 'rows.json'
    run_tool(['tools/analysis_tools/benchmark_dynamic_conv.py', '--models', 'od_mobilenetv2_1x', '--size', '32',
              '--threads', '1', '--clock', 'cpu', '--train-batch-sizes', '2', '--warmup', '0', '--floor', '--out',
              str(out)])
    rows = {r['name']: r for r in json.loads(out.read_text())}
    assert set(rows) == {'od_mobilenetv2_1x', 'mobilenetv2'}  # the static network is added
    od, static = rows['od_mobilenetv2_1x'], rows['mobilenetv2']
    assert od['infer_ms'] > 0 and od['train_ms'] > 0 and od['train_mem_mib'] is not None
    assert od['train_ms_vs_static'] == pytest.approx(od['train_ms'] / static['train_ms'])
    assert od['infer_ms_vs_static'] == pytest.approx(od['infer_ms'] / static['infer_ms'])
    # ODConv 1x mixes no kernels: its floor is the static network's time
    assert od['floor_read_mb'] == 0 and od['infer_floor_vs_static'] == pytest.approx(1.0)
    assert 'infer_floor_vs_static' not in static


def _fake_release(root):
    """A checkout with the ODConv layout whose models import timm (as the KernelWarehouse ones do)."""
    (root / 'modules').mkdir()
    (root / 'modules' / 'odconv.py').write_text('import torch.nn as nn\nLAYER = nn.Conv2d\n')
    (root / 'models').mkdir()
    (root / 'models' / '__init__.py').write_text('')
    body = ('from timm.models.registry import register_model\nfrom timm.models.layers import DropPath\n'
            'from modules.odconv import LAYER\n\n@register_model\ndef {fn}(kernel_num=1):\n'
            '    return LAYER(3, kernel_num, 1)\n')
    (root / 'models' / 'od_resnet.py').write_text(body.format(fn='od_resnet50'))
    (root / 'models' / 'od_mobilenetv2.py').write_text(body.format(fn='od_mobilenetv2_100'))


def test_release_import_is_isolated(tmp_path):
    _fake_release(tmp_path)
    assert detect_release(str(tmp_path)) == 'odconv'
    builders = release_builders(str(tmp_path))
    assert sorted(builders) == ['od_mobilenetv2_1x', 'od_resnet50_1x', 'od_resnet50_4x']
    model = builders['od_resnet50_4x']()
    assert isinstance(model, nn.Conv2d) and model.out_channels == 4  # the release's arguments are passed
    assert not any(k.split('.')[0] in ('models', 'modules') for k in sys.modules)  # no leftover packages


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match='--release-path .*expected a checkout of OSVAI/ODConv'):
        detect_release(str(tmp_path))
    import importlib.util
    import os.path as osp

    from tests.conftest import REPO
    spec = importlib.util.spec_from_file_location(
        'bench', osp.join(REPO, 'tools/analysis_tools/benchmark_dynamic_conv.py'))
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    with pytest.raises(ValueError, match='--clock cpu needs --threads 1'):
        bench.parse_args(['--clock', 'cpu', '--threads', '1', '2'])
    with pytest.raises(ValueError, match='--threads: each value must be >= 1'):
        bench.parse_args(['--threads', '0'])
