"""HyperNet configs parse / build, the VOC model's parameter count, and a short real run through tools/train.py
followed by the proposal-recall evaluation through tools/test.py on the tiny generated Shapes set."""
import glob
import re

import pytest
import torch
from mmengine.config import Config

from tests.conftest import REPO, run_tool, shapes_overrides, write_config

SHAPES_CFG = 'configs/hypernet/hypernet_vgg16-w0125-bn_1xb4-2e_shapes.py'
SHAPES_RECALL_CFG = 'configs/hypernet/hypernet_vgg16-w0125-bn_1xb4-2e_shapes-recall.py'


@pytest.mark.parametrize('path', sorted(glob.glob(f'{REPO}/configs/hypernet/*.py')))
def test_configs_parse_and_build(path):
    from mmdet.registry import MODELS
    from mmengine.registry import init_default_scope
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'mmdet' and cfg.custom_imports.imports == ['mmext']
    init_default_scope('mmdet')
    if 'shapes' in path:
        MODELS.build(cfg.model)
    else:  # VGG-16 at full width (80M parameters): build on the meta device
        with torch.device('meta'):
            model = MODELS.build(cfg.model)
        assert model.rpn_head.in_channels == 126 and model.backbone.init_cfg['type'] == 'Pretrained'


def test_voc_model_parameter_count_matches_the_paper_layers():
    """VGG-16 conv layers + Hyper Feature + proposal module + detection module, layer by layer from the paper."""
    from mmdet.registry import MODELS
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')
    cfg = Config.fromfile(f'{REPO}/configs/hypernet/hypernet_vgg16_1xb2-4e_voc0712.py')
    with torch.device('meta'):
        model = MODELS.build(cfg.model)

    def count(module):
        return sum(p.numel() for p in module.parameters())

    vgg16_convs = 14_714_688
    hyper = (512 * 512 * 4 * 4 + 512) + sum(c * 9 * 42 + 42 for c in (64, 256, 512))  # deconv x4 + 3 convs
    proposal = (126 * 9 * 4 + 4) + (4 * 13 * 13 * 256 + 256) + (256 * 2 + 2) + (256 * 4 + 4)
    detection = ((126 * 9 * 63 + 63) + (63 * 13 * 13 * 4096 + 4096) + (4096 * 4096 + 4096) + (4096 * 21 + 21)
                 + (4096 * 20 * 4 + 20 * 4))
    assert count(model.backbone) == vgg16_convs
    assert count(model.neck) == hyper == 4_509_438
    assert count(model.rpn_head) == proposal == 179_394
    assert count(model.roi_head) == detection == 60_880_822
    assert count(model) == 80_284_342


@pytest.mark.slow
def test_hypernet_shapes_train_then_proposal_recall(tiny_shapes, tmp_path):
    body = shapes_overrides(tiny_shapes, 'det') + '\ntrain_cfg = dict(max_epochs=1, val_interval=1)' \
        '\ndefault_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1))'
    cfg = write_config(str(tmp_path / 'hypernet.py'), SHAPES_CFG, body)
    out = run_tool(['tools/train.py', cfg, '--work-dir', str(tmp_path / 'w')])
    log = out.stdout + out.stderr
    assert re.search(r'coco/bbox_mAP: [0-9.]+', log), log[-3000:]
    losses = [float(x) for x in re.findall(r' loss: ([0-9.]+|nan)', log)]
    assert losses and all(x == x for x in losses), 'losses logged and none is NaN'
    assert re.search(r'loss_rpn_cls: [0-9.]+', log) and re.search(r'loss_bbox: [0-9.]+', log)

    ann = tiny_shapes + 'annotations/instances_val.json'
    recall_body = shapes_overrides(tiny_shapes, 'det').replace(
        "val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')\ntest_evaluator = val_evaluator",
        '') + '\ntest_evaluator = [' + ', '.join(
            f"dict(type='ProposalRecallMetric', ann_file={ann!r}, proposal_nums=(50, 100, 300), "
            f"iou_thrs=[{thr}], prefix='recall@{thr}')" for thr in (0.5, 0.7)) + ']'
    recall_cfg = write_config(str(tmp_path / 'recall.py'), SHAPES_RECALL_CFG, recall_body)
    out = run_tool(['tools/test.py', recall_cfg, str(tmp_path / 'w' / 'epoch_1.pth'), '--work-dir',
                    str(tmp_path / 'r')])
    log = out.stdout + out.stderr
    for thr in ('0.5', '0.7'):
        for num in (50, 100, 300):
            match = re.search(rf'recall@{thr}/AR@{num}: ([0-9.]+)', log)
            assert match and 0 <= float(match.group(1)) <= 1, log[-3000:]
