"""An unmodified config shipped inside mmdet, plus custom_imports=['mmext'], runs with an mmext component swapped
in: no mmext tool involved, only mmengine's Config and Runner as a user's own script would use them."""
import os.path as osp
import re

import pytest

from tests.conftest import TINY_SHAPES, run_tool

SCRIPT = r'''
import sys
from mmengine.config import Config
from mmengine.runner import Runner
cfg = Config.fromfile(sys.argv[1])
assert 'mmext' in sys.modules, 'custom_imports loaded mmext'
Runner.from_cfg(cfg).train()
'''


@pytest.mark.slow
def test_mmdet_retinanet_config_with_mmext_dataset(tiny_shapes, tmp_path):
    import mmdet
    src = osp.join(osp.dirname(mmdet.__file__), '.mim', 'configs', 'retinanet', 'retinanet_r50_fpn_1x_coco.py')
    assert osp.isfile(src), 'mmdet ships its configs in .mim'
    ds = dict(type='ShapesDetDataset', data_root=tiny_shapes, shapes_cfg=TINY_SHAPES)
    overrides = f'''
_base_ = [{src!r}]
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict({', '.join(f'{k}={v!r}' for k, v in ds.items())}, ann_file='annotations/instances_train.json',
                 data_prefix=dict(img='images/train/')))
val_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict({', '.join(f'{k}={v!r}' for k, v in ds.items())}, ann_file='annotations/instances_val.json',
                 data_prefix=dict(img='images/val/')))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file={tiny_shapes + 'annotations/instances_val.json'!r})
test_evaluator = val_evaluator
# mmdet's pipelines resize to 1333x800; the tiny Shapes images are 128x128
for _loader in (train_dataloader, val_dataloader):
    _loader['dataset']['pipeline'] = [
        dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_bbox=True),
        dict(type='Resize', scale=(128, 128), keep_ratio=True),
        dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))]
model = dict(backbone=dict(depth=18, init_cfg=None), neck=dict(in_channels=[64, 128, 256, 512]),
             bbox_head=dict(num_classes=5), test_cfg=dict(score_thr=0.0))
train_cfg = dict(max_epochs=1)
work_dir = {str(tmp_path / 'work')!r}
'''
    cfg = tmp_path / 'retinanet_shapes.py'
    cfg.write_text(overrides)
    script = tmp_path / 'user_train.py'
    script.write_text(SCRIPT)
    out = run_tool([str(script), str(cfg)])
    assert re.search(r'coco/bbox_mAP: [0-9.]+', out.stdout + out.stderr)
    assert osp.isfile(tmp_path / 'work' / 'epoch_1.pth')
