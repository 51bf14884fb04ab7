"""ODMobileNetV2 / KWMobileNetV2 as drop-in replacements of the upstream ``MobileNetV2``: the stock mmpretrain
classification config, mmdet's SSDLite / YOLOv3 and mmseg's DeepLabV3-d8 (SyncBN, dilated, output stride 8)
configs with only ``type`` changed give the upstream feature shapes; ``norm_cfg`` (SyncBN, GN, eps/momentum,
requires_grad), ``act_cfg`` and ``with_cp`` are honoured."""
import copy
import warnings

import pytest
import torch
import torch.nn as nn
from mmengine.registry import DefaultScope

from mmext.backbones import KWMobileNetV2, ODMobileNetV2
from tests.test_backbones.test_resnet_drop_in import _registry, _shapes, _stock_config

STOCK = [
    ('mmpretrain', 'mmpretrain', 'mobilenet_v2/mobilenet-v2_8xb32_in1k.py'),
    ('mmdet', 'mmdet', 'ssd/ssdlite_mobilenetv2-scratch_8xb24-600e_coco.py'),
    ('mmdet', 'mmdet', 'yolo/yolov3_mobilenetv2_8xb24-ms-416-300e_coco.py'),
    ('mmseg', 'mmseg', 'mobilenet_v2/mobilenet-v2-d8_deeplabv3_4xb2-80k_cityscapes-512x1024.py'),
]


def _norms(model):
    return [m for n, m in model.named_modules() if isinstance(m, (nn.modules.batchnorm._NormBase, nn.GroupNorm))
            and 'attention' not in n]


@pytest.mark.parametrize('package,scope,rel', STOCK, ids=[r[2].split('/')[1].split('_')[0] for r in STOCK])
@pytest.mark.parametrize('mmext_type', ['ODMobileNetV2', 'KWMobileNetV2'])
def test_stock_config_type_swap_same_shapes(package, scope, rel, mmext_type):
    cfg = _stock_config(package, rel)
    upstream_cfg = copy.deepcopy(cfg.model.backbone)
    assert upstream_cfg['type'] == 'MobileNetV2'
    ours_cfg = copy.deepcopy(cfg.model.backbone)
    ours_cfg['type'] = mmext_type
    for c in (upstream_cfg, ours_cfg):
        c.pop('init_cfg', None)
    with DefaultScope.overwrite_default_scope(scope):
        upstream = _registry(scope).build(upstream_cfg)
        ours = _registry(scope).build(ours_cfg)
    x = torch.randn(1, 3, 64, 64)
    ref = _shapes(upstream, x)
    assert _shapes(ours, x) == ref
    assert list(ours.out_channels) == [s[1] for s in ref]
    if 'd8' in rel:
        assert ref[-1][-1] == 8  # output stride 8
    norm = upstream_cfg.get('norm_cfg', dict(type='BN'))
    ours_norms, ref_norms = _norms(ours), _norms(upstream)
    assert {type(m) for m in ours_norms} == {type(m) for m in ref_norms}
    assert {(m.eps, m.momentum) for m in ours_norms} == {(norm.get('eps', 1e-5), norm.get('momentum', 0.1))}
    act = upstream_cfg.get('act_cfg', dict(type='ReLU6'))['type']
    acts = {type(m).__name__ for n, m in ours.named_modules() if n.startswith('features.') and 'attention' not in n
            and isinstance(m, (nn.ReLU6, nn.LeakyReLU, nn.ReLU))}
    assert acts == {act}
    if act == 'LeakyReLU':
        assert ours.features[1].conv[0][2].negative_slope == 0.1


def test_mmseg_d8_syncbn_trains_as_bn_after_conversion_and_every_param_gets_grad():
    """SyncBN builds ``nn.SyncBatchNorm``; without a process group (CPU) it trains as BN, and mmengine's runner
    converts it back to BN (``revert_sync_batchnorm``) for non-distributed runs: both give the same outputs."""
    from mmengine.model import revert_sync_batchnorm
    torch.manual_seed(0)
    m = ODMobileNetV2(widen_factor=0.5, kernel_num=2, strides=(1, 2, 2, 1, 1, 1, 1), dilations=(1, 1, 1, 2, 2, 4, 4),
                      out_indices=(1, 2, 4, 6), norm_cfg=dict(type='SyncBN', requires_grad=True))
    assert all(isinstance(n, nn.SyncBatchNorm) for n in _norms(m)) and _norms(m)
    assert m.features[-1][0].attention.fc.weight.requires_grad is False, 'the unused final conv is frozen'
    x = torch.randn(2, 3, 64, 64)
    reverted = revert_sync_batchnorm(copy.deepcopy(m)).train()
    assert not any(isinstance(n, nn.SyncBatchNorm) for n in reverted.modules())
    with torch.no_grad():
        direct = m.train()(x)
    outs = reverted(x)
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(direct, outs))
    m = reverted
    assert [o.shape[-1] for o in outs] == [16, 8, 8, 8]
    assert m.features[7].conv[1][0].dilation == 2 and m.features[7].conv[1][0].padding == 2
    sum(o.mean() for o in outs).backward()
    missing = [n for n, p in m.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing


def test_norm_cfg_gn_requires_grad_and_act_cfg():
    m = KWMobileNetV2(0.5, norm_cfg=dict(type='GN', num_groups=4, requires_grad=False), act_cfg=dict(type='ReLU'),
                      out_indices=(2, 7))
    norms = _norms(m)
    assert norms and all(isinstance(n, nn.GroupNorm) and not n.weight.requires_grad for n in norms)
    assert isinstance(m.features[0][2], nn.ReLU) and isinstance(m.features[-1][2], nn.ReLU)
    assert m.out_channels == (16, 1280)
    assert [o.shape[1] for o in m(torch.randn(2, 3, 32, 32))] == [16, 1280]


@pytest.mark.parametrize('cls,kwargs', [(ODMobileNetV2, dict(kernel_num=2)), (KWMobileNetV2, dict())])
def test_with_cp_same_outputs_and_grads(cls, kwargs):
    torch.manual_seed(0)
    plain = cls(0.5, out_indices=(2, 7), **kwargs)
    ckpt = cls(0.5, out_indices=(2, 7), with_cp=True, **kwargs)
    ckpt.load_state_dict(plain.state_dict())
    calls = []
    ckpt.features[3].conv[1].register_forward_hook(lambda *a: calls.append(1))
    x = torch.randn(2, 3, 32, 32)
    grads, outs = [], []
    for m in (plain, ckpt):
        m.train()
        out = m(x)
        outs.append([o.detach() for o in out])
        sum((o * o).mean() for o in out).backward()
        grads.append({n: p.grad for n, p in m.named_parameters() if p.grad is not None})
        assert len(grads[-1]) == sum(p.requires_grad for p in m.parameters()), 'every parameter gets a gradient'
    assert len(calls) == 2, 'the checkpointed block is recomputed in backward'
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(*outs))
    assert grads[0].keys() == grads[1].keys()
    for n in grads[0]:
        assert torch.allclose(grads[0][n], grads[1][n], rtol=1e-4, atol=1e-6), n


def test_pretrained_as_mmseg():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        m = ODMobileNetV2(0.5, pretrained='mmcls://mobilenet_v2')
    assert m.init_cfg == dict(type='Pretrained', checkpoint='mmcls://mobilenet_v2')
    assert any('pretrained is deprecated' in str(w.message) for w in caught)


@pytest.mark.parametrize('kwargs,exc,match', [
    (dict(conv_cfg=dict(type='DCNv2')), ValueError, 'conv_cfg=.*cannot be honoured'),
    (dict(norm_cfg='BN'), TypeError, 'norm_cfg must be a dict'),
    (dict(act_cfg='ReLU6'), TypeError, 'act_cfg must be a dict'),
    (dict(strides=(1, 2, 2)), ValueError, r'strides needs one entry per stage \(num_stages=7\)'),
    (dict(dilations=(1, 2)), ValueError, r'dilations needs one entry per stage'),
    (dict(out_indices=(8, )), ValueError, 'out_indices must be a non-empty sequence of 0..7'),
    (dict(frozen_stages=9), ValueError, 'frozen_stages must be in -1..8'),
])
@pytest.mark.parametrize('cls', [ODMobileNetV2, KWMobileNetV2])
def test_values_that_cannot_be_honoured_are_named(cls, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        cls(0.5, **kwargs)


def test_stock_mmseg_mobilenetv2_segmentor_with_type_swap():
    """The whole mmseg DeepLabV3 MobileNetV2-d8 model: ``model.pretrained`` reaches the backbone's init_cfg, the
    heads' in_channels (320, 96) fit, and the logits are at output stride 8."""
    cfg = _stock_config('mmseg', STOCK[3][2])
    cfg.model.backbone.type = 'ODMobileNetV2'
    cfg.model.data_preprocessor.size = (64, 64)
    with DefaultScope.overwrite_default_scope('mmseg'), warnings.catch_warnings():
        warnings.simplefilter('ignore')
        seg = _registry('mmseg').build(cfg.model)
    assert seg.backbone.init_cfg == dict(type='Pretrained', checkpoint='mmcls://mobilenet_v2')
    seg.eval()
    with torch.no_grad():
        assert seg(torch.randn(1, 3, 64, 64), mode='tensor').shape == (1, 19, 8, 8)


@pytest.mark.parametrize('frozen_stages', [0, 3, 7])
def test_frozen_stages_freeze_the_same_blocks_as_upstream(frozen_stages):
    from mmpretrain.models import MobileNetV2
    from mmpretrain.models.backbones.mobilenet_v2 import InvertedResidual

    from mmext.backbones.dynamic_mobilenetv2 import DynamicInvertedResidual
    ref, ours = MobileNetV2(0.5, frozen_stages=frozen_stages), ODMobileNetV2(0.5, frozen_stages=frozen_stages)
    ref.train()  # upstream's train() returns None
    ours.train()

    def frozen_blocks(model, block_type):
        return sum(isinstance(m, block_type) and not any(p.requires_grad for p in m.parameters())
                   for m in model.modules())

    assert frozen_blocks(ours, DynamicInvertedResidual) == frozen_blocks(ref, InvertedResidual)
    assert not any(p.requires_grad for p in ours.features[0].parameters())  # the stem, as upstream's conv1
    assert all(p.requires_grad for p in ours.features[-1].parameters()) == all(
        p.requires_grad for p in ref.conv2.parameters())
