"""A short real run of the RON Shapes config through tools/train.py (and its configs parse)."""
import glob
import re

import pytest
from mmengine.config import Config

from tests.conftest import REPO, TINY_SHAPES, run_tool, shapes_overrides, write_config

SHAPES_CFG = 'configs/ron/ron160_vgg16-w0125-bn_1xb8-12e_shapes.py'  # the quick-start config


@pytest.mark.parametrize('path', sorted(glob.glob(f'{REPO}/configs/ron/*.py')))
def test_configs_parse_and_build(path):
    from mmdet.registry import MODELS
    from mmengine.registry import init_default_scope

    import mmext  # noqa: F401
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'mmdet' and cfg.custom_imports.imports == ['mmext']
    if 'shapes' in path:  # the VGG-16 ones have 20-134M parameters: check their fields only
        init_default_scope('mmdet')
        MODELS.build(cfg.model)
    else:
        assert cfg.model.bbox_head.type == 'RONHead' and cfg.model.backbone.type == 'RONVGG'


def test_ron_augmentation_pipeline(tiny_shapes):
    """RON's full training pipeline (expand, bounded crop, photometric, warp resize, flip) on Shapes images."""
    from mmdet.registry import DATASETS
    from mmengine.registry import init_default_scope

    import mmext  # noqa: F401
    init_default_scope('mmdet')
    cfg = Config.fromfile(f'{REPO}/{SHAPES_CFG}')
    assert [t['type'] for t in cfg.ron_train_pipeline][2:5] == ['Expand', 'MinIoURandomCrop', 'RandomChoice']
    ds_cfg = cfg.train_dataloader.dataset.to_dict()
    ds_cfg.update(data_root=tiny_shapes, shapes_cfg=TINY_SHAPES, pipeline=cfg.ron_train_pipeline)
    dataset = DATASETS.build(ds_cfg)
    for _ in range(2):
        for i in range(len(dataset)):
            out = dataset[i]
            assert tuple(out['inputs'].shape) == (3, 160, 160)
            boxes = out['data_samples'].gt_instances.bboxes.tensor
            assert len(boxes) > 0 and (boxes >= 0).all() and (boxes <= 160).all()


@pytest.mark.slow
def test_ron_shapes_train_one_epoch_is_reproducible(tiny_shapes, tmp_path):
    """One epoch of the quick-start config through tools/train.py, twice: its seed (randomness.seed=0) makes the
    logged losses and the mAP identical (init, data order, augmentation and the random target sampling)."""
    assert Config.fromfile(f'{REPO}/{SHAPES_CFG}').randomness.seed == 0
    cfg = write_config(str(tmp_path / 'ron.py'), SHAPES_CFG,
                       shapes_overrides(tiny_shapes, 'det') + '\ntrain_cfg = dict(max_epochs=1, val_interval=1)'
                       '\ndefault_hooks = dict(logger=dict(interval=1))')
    runs = []
    for k in range(2):
        out = run_tool(['tools/train.py', cfg, '--work-dir', str(tmp_path / f'w{k}')])
        log = out.stdout + out.stderr
        assert re.search(r'coco/bbox_mAP: [0-9.]+', log), log[-3000:]
        losses = re.findall(r'loss: ([0-9.]+|nan)', log)
        assert losses and all(x != 'nan' for x in losses), 'losses logged and none is NaN'
        runs.append((losses, re.findall(r'coco/bbox_mAP: ([0-9.]+)', log)))
    assert runs[0] == runs[1], runs


@pytest.mark.slow
def test_benchmark_ron_light_pair():
    """tools/analysis_tools/benchmark_ron.py --light times RON160 and SSD160 (SSDHeadCompat) and reports ratios."""
    import json
    out = run_tool(['tools/analysis_tools/benchmark_ron.py', '--light', '--batch-size', '1', '--iters', '1',
                    '--warmup', '0', '--device', 'cpu'])
    result = json.loads(out.stdout[out.stdout.index('{\n'):])
    models = result['models']
    assert set(models) == {'RON160 light (Shapes)', 'SSD160 light (Shapes)'}
    ssd = models['SSD160 light (Shapes)']
    assert ssd['ratio_vs_ssd'] == dict(inference=1.0, train_step=1.0)
    for res in models.values():
        assert res['inference']['images_per_s'] > 0 and res['train_step']['images_per_s'] > 0
