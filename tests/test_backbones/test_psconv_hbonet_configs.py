"""PSConv / HBONet configs load (upstream bases resolved), their backbones build by name with the declared channels
(on the meta device), the Shapes detectors / classifiers run every forward mode, and short real runs through
tools/train.py on the tiny Shapes set."""
import glob
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmext.registry import get_registry
from tests.conftest import REPO, run_tool, shapes_overrides, write_config

CONFIGS = sorted(glob.glob(osp.join(REPO, 'configs/psconv/*.py')) + glob.glob(osp.join(REPO, 'configs/hbonet/*.py')))


def test_config_set_is_complete():
    names = {osp.basename(p) for p in CONFIGS}
    for det in ('faster-rcnn', 'mask-rcnn', 'cascade-rcnn', 'cascade-mask-rcnn'):
        for b in ('r50', 'r101', 'x101-32x4d'):
            assert f'{det}_ps-{b}_fpn_1x_coco.py' in names
    for w in ('1.0', '0.8', '0.5', '0.35', '0.25', '0.1'):
        assert f'hbonet-{w}x_8xb32-150e_in1k.py' in names
    assert {'ps-resnet50_8xb32-120e_in1k.py', 'ps-resnet101_8xb32-120e_in1k.py',
            'ps-resnext101-32x4d_8xb32-120e_in1k.py'} <= names


@pytest.mark.parametrize('path', CONFIGS, ids=[osp.basename(p) for p in CONFIGS])
def test_config_loads_and_backbone_builds(path):
    cfg = Config.fromfile(path)
    assert cfg.custom_imports == dict(imports=['mmext'], allow_failed_imports=False)
    det = 'coco' in path or osp.basename(path).startswith('fcos')
    assert cfg.default_scope == ('mmdet' if det else 'mmpretrain')
    if cfg.model.backbone.type not in ('PSResNet', 'PSResNeXt', 'HBONet'):
        return  # an upstream baseline (mmpretrain / mmdet ResNet, MobileNetV2): loading is what is checked
    init_default_scope(cfg.default_scope)
    with torch.device('meta'):
        model = get_registry(cfg.default_scope, 'MODELS').build(cfg.model.backbone)
    channels = list(model.out_channels)
    neck = cfg.model.get('neck')
    if neck and 'in_channels' in neck:
        assert list(neck.in_channels) == channels
    head = cfg.model.get('head')
    if head and 'in_channels' in head:
        assert head.in_channels == channels[-1]
    if 'coco' in path:
        assert cfg.model.backbone.frozen_stages == 1 and cfg.model.backbone.norm_eval
        assert cfg.train_cfg.max_epochs == 12
        x101 = 'x101' in path
        assert (cfg.model.backbone.get('release_compat', False), cfg.model.backbone.get('groups', 1)) == \
            ((True, 32) if x101 else (False, 1))


SHAPES_DET = ['configs/psconv/fcos_ps-r50-c32_fpn_1xb8-6e_shapes-128.py',
              'configs/psconv/fcos_r50-c32_fpn_1xb8-6e_shapes-128.py',
              'configs/hbonet/fcos_hbonet-1.0x_fpn_1xb8-6e_shapes-128.py',
              'configs/hbonet/fcos_mobilenet-v2-1.0x_fpn_1xb8-6e_shapes-128.py']
SHAPES_CLS = ['configs/psconv/ps-resnet50-c32_1xb32-8e_shapes-cls.py',
              'configs/hbonet/hbonet-1.0x_1xb32-8e_shapes-cls.py']


def _check_grads(model):
    missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing, f'parameters without a gradient: {missing[:5]}'


@pytest.mark.parametrize('path', SHAPES_DET, ids=[osp.basename(p) for p in SHAPES_DET])
def test_shapes_detectors_every_forward_mode(path):
    """The comparison detectors as configured (full width): loss / predict / tensor, batch 2 and 1."""
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData
    cfg = Config.fromfile(osp.join(REPO, path))
    init_default_scope('mmdet')
    torch.manual_seed(0)
    model = get_registry('mmdet', 'MODELS').build(cfg.model)

    def batch(n):
        samples = []
        for _ in range(n):
            s = DetDataSample(metainfo=dict(img_shape=(96, 80), ori_shape=(96, 80), scale_factor=(1.0, 1.0)))
            s.gt_instances = InstanceData(bboxes=torch.tensor([[4., 6., 40., 50.], [30., 20., 78., 90.]]),
                                          labels=torch.tensor([0, 4]))
            samples.append(s)
        return model.data_preprocessor(dict(inputs=[torch.randint(0, 256, (3, 96, 80)).float() for _ in range(n)],
                                            data_samples=samples), training=True)

    model.train()
    losses = model(**batch(2), mode='loss')
    assert {'loss_cls', 'loss_bbox', 'loss_centerness'} <= set(losses)
    total = sum(v for k, v in losses.items() if k.startswith('loss'))
    assert torch.isfinite(total)
    total.backward()
    _check_grads(model)
    model.eval()
    with torch.no_grad():
        cls_scores, bbox_preds, centerness = model(**batch(1), mode='tensor')
        assert len(cls_scores) == 3 and cls_scores[0].shape == (1, 5, 12, 12)  # stride 8 of 96x96 (80 padded to 32k)
        assert all(torch.isfinite(t).all() for t in cls_scores + bbox_preds + centerness)
        preds = model(**batch(1), mode='predict')
    assert len(preds) == 1 and preds[0].pred_instances.bboxes.shape[-1] == 4


@pytest.mark.parametrize('path', SHAPES_CLS, ids=[osp.basename(p) for p in SHAPES_CLS])
def test_shapes_classifiers_every_forward_mode(path):
    from mmpretrain.structures import DataSample
    cfg = Config.fromfile(osp.join(REPO, path))
    init_default_scope('mmpretrain')
    model = get_registry('mmpretrain', 'MODELS').build(cfg.model)
    x = torch.randn(2, 3, 64, 64)
    model.train()
    losses = model(x, [DataSample().set_gt_label(1), DataSample().set_gt_label(4)], mode='loss')
    assert torch.isfinite(losses['loss'])
    losses['loss'].backward()
    _check_grads(model)
    model.eval()
    with torch.no_grad():
        assert model(x[:1], mode='tensor').shape == (1, 5)  # batch 1
        pred = model(x[:1], mode='predict')
    assert pred[0].pred_score.shape == (5, ) and torch.isclose(pred[0].pred_score.sum(), torch.tensor(1.0))


@pytest.mark.slow
def test_ps_and_hbonet_shapes_train(tiny_shapes, tmp_path):
    cls = write_config(str(tmp_path / 'cls.py'), 'configs/hbonet/hbonet-1.0x_1xb32-8e_shapes-cls.py',
                       shapes_overrides(tiny_shapes, 'cls') +
                       "\nmodel = dict(backbone=dict(widen_factor=0.25))"
                       '\ntrain_cfg = dict(max_epochs=1, val_interval=1)')
    out = run_tool(['tools/train.py', cls, '--work-dir', str(tmp_path / 'c')])
    assert re.search(r'accuracy/top1: [0-9.]+', out.stdout + out.stderr)
    det = write_config(str(tmp_path / 'det.py'), 'configs/psconv/fcos_ps-r50-c32_fpn_1xb8-6e_shapes-128.py',
                       shapes_overrides(tiny_shapes, 'det') +
                       "\nmodel = dict(backbone=dict(base_channels=16), neck=dict(in_channels=[128, 256, 512]))"
                       '\ntrain_cfg = dict(max_epochs=1, val_interval=1)'
                       '\ndefault_hooks = dict(logger=dict(interval=1))')
    out = run_tool(['tools/train.py', det, '--work-dir', str(tmp_path / 'd')])
    text = out.stdout + out.stderr
    assert re.search(r'Epoch\(train\) +\[1\]\[6/6\].*loss: [0-9.]+', text)
    assert re.search(r'Epoch\(val\) +\[1\]\[3/3\]', text)  # COCO evaluation ran (a 1-epoch model may predict
    assert re.search(r'coco/bbox_mAP: [0-9.]+|testing results of the whole dataset is empty', text)  # nothing)
