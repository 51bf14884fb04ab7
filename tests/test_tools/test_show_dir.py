"""``tools/test.py --show-dir DIR [--show-interval N]`` behaves the same for mmdet, mmseg and mmpretrain configs:
one painted file per test image (every N-th with an interval) in ``DIR`` under the work dir."""
import os
import os.path as osp

import pytest

from mmext.apis import build_runner, enable_visualization, load_config
from tests.conftest import shapes_overrides, write_config

QUICKSTART = {
    'det': 'configs/quickstart/fcos_r18-c32_fpn_1xb8-12e_shapes.py',
    'seg': 'configs/quickstart/fcn_r18-d8_1xb8-2k_shapes-seg.py',
    'cls': 'configs/quickstart/resnet18_1xb32-20e_shapes-cls.py',
}


@pytest.mark.parametrize('kind,interval', [('det', 1), ('seg', 1), ('cls', 1), ('seg', 4), ('cls', 3)])
def test_show_dir_under_work_dir_every_image(kind, interval, tiny_shapes, tmp_path):
    cfg_file = write_config(str(tmp_path / f'{kind}.py'), QUICKSTART[kind], shapes_overrides(tiny_shapes, kind))
    work = tmp_path / 'work'
    cfg = load_config(cfg_file, work_dir=str(work))
    cfg = enable_visualization(cfg, show=False, show_dir='vis', wait_time=0, interval=interval)
    assert cfg.show_dir == str(work / 'vis')
    runner = build_runner(cfg)
    runner.test()
    painted = sorted(os.listdir(work / 'vis'))
    n_test = len(runner.test_dataloader.dataset)
    assert len(painted) == -(-n_test // interval), painted  # images 0, interval, 2 * interval, ...
    assert all(p.endswith(('.png', '.jpg')) for p in painted)
    assert not osp.exists(work / 'vis' / 'vis_data')  # not mmseg's backend layout


def test_absolute_show_dir_and_bad_interval(tiny_shapes, tmp_path):
    cfg = load_config(write_config(str(tmp_path / 'c.py'), QUICKSTART['det'], shapes_overrides(tiny_shapes, 'det')),
                      work_dir=str(tmp_path / 'w'))
    assert enable_visualization(cfg.copy(), False, str(tmp_path / 'abs'), 0).show_dir == str(tmp_path / 'abs')
    with pytest.raises(ValueError, match='--show-interval must be a positive int'):
        enable_visualization(cfg, False, 'vis', 0, interval=0)
