"""CASNet configs parse and build; short real runs through tools/train.py (instance and panoptic) and test.py."""
import glob
import re

import pytest
from mmengine.config import Config

from tests.conftest import REPO, TINY_SHAPES, run_tool, write_config

SHAPES = 'configs/casnet/casnet_r18-c32_fpn_1xb4-2e_shapes128-{}.py'


@pytest.mark.parametrize('path', sorted(glob.glob(f'{REPO}/configs/casnet/*.py')), ids=lambda p: p.split('/')[-1])
def test_configs_parse_and_build(path):
    from mmdet.registry import MODELS
    from mmengine.registry import init_default_scope

    import mmext  # noqa: F401
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'mmdet' and cfg.custom_imports.imports == ['mmext']
    init_default_scope('mmdet')
    model = MODELS.build(cfg.model)  # built without loading pretrained weights (no init_weights)
    if 'casnet' in path.split('/')[-1]:
        assert type(model).__name__ == 'CASNet'
        assert model.mode == ('separated' if 'separated' in path else 'joint')
        assert model.backbone.depth == (18 if 'shapes' in path else 50)
    if 'cityscapes-panoptic' in path:
        ds = cfg.train_dataloader.dataset
        assert ds.type == 'RepeatDataset' and ds.dataset.type == 'CocoPanopticDataset'
        assert len(ds.dataset.metainfo['classes']) == 19 and model.num_things == 8 and model.num_stuff == 11


def _overrides(data_root: str, panoptic: bool) -> str:
    lines = [f'data_root = {data_root!r}', f'shapes_cfg = {TINY_SHAPES!r}']
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        lines.append(f'{loader} = dict(batch_size=2, num_workers=0, persistent_workers=False, '
                     f'dataset=dict(data_root=data_root, shapes_cfg=shapes_cfg))')
    inst = "dict(type='CocoMetric', ann_file=data_root + 'annotations/instances_val.json', metric=['bbox', 'segm'])"
    pan = ("dict(type='CocoPanopticMetric', ann_file=data_root + 'annotations/panoptic_val.json', "
           "seg_prefix=data_root + 'annotations/panoptic_val/')")
    lines.append(f'val_evaluator = [{pan}, {inst}]' if panoptic else f'val_evaluator = {inst}')
    lines += ['test_evaluator = val_evaluator', 'train_cfg = dict(max_epochs=1, val_interval=1)',
              'default_hooks = dict(logger=dict(interval=1))']
    return '\n'.join(lines)


@pytest.mark.slow
@pytest.mark.parametrize('task', ['instance', 'panoptic'])
def test_casnet_shapes_train_one_epoch_then_test(task, tiny_shapes, tmp_path):
    panoptic = task == 'panoptic'
    cfg = write_config(str(tmp_path / f'casnet_{task}.py'), SHAPES.format(task), _overrides(tiny_shapes, panoptic))
    out = run_tool(['tools/train.py', cfg, '--work-dir', str(tmp_path / 'w')])
    log = out.stdout + out.stderr
    assert re.search(r'coco/segm_mAP: [0-9.]+', log), log[-3000:]
    if panoptic:
        assert re.search(r'coco_panoptic/PQ: [0-9.]+', log), log[-3000:]
    losses = [float(x) for x in re.findall(r'loss_box: ([0-9.]+|nan)', log)]
    assert losses and all(x == x for x in losses), 'attribute losses logged and none is NaN'
    ckpt = sorted(glob.glob(str(tmp_path / 'w' / 'epoch_*.pth')))[-1]
    out = run_tool(['tools/test.py', cfg, ckpt, '--work-dir', str(tmp_path / 't')])
    assert re.search(r'coco/segm_mAP: [0-9.]+', out.stdout + out.stderr)
