"""ODResNet / KWResNet as drop-in replacements of the upstream ResNet in the stock configs shipped with mmdet,
mmseg and mmpretrain: only ``type`` changes, and every feature map has the upstream backbone's shape (the
dilated ``-d8`` configs keep output stride 8)."""
import copy
import os.path as osp
import warnings

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from mmext.backbones import KWResNet, ODResNet, ODResNetV1d


def _stock_config(package: str, rel: str) -> Config:
    pkg = __import__(package)
    path = osp.join(osp.dirname(pkg.__file__), '.mim', 'configs', rel)
    assert osp.isfile(path), f'{package} ships {rel} in .mim'
    return Config.fromfile(path)


def _registry(scope: str):
    return __import__(f'{scope}.registry', fromlist=['MODELS']).MODELS


STOCK = [
    ('mmdet', 'mmdet', 'faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'),
    ('mmdet', 'mmdet', 'retinanet/retinanet_r50_fpn_1x_coco.py'),
    ('mmseg', 'mmseg', 'fcn/fcn_r50-d8_4xb2-40k_cityscapes-512x1024.py'),
    ('mmseg', 'mmseg', 'deeplabv3/deeplabv3_r50-d8_4xb2-40k_cityscapes-512x1024.py'),
    ('mmseg', 'mmseg', 'mask2former/mask2former_r50_8xb2-90k_cityscapes-512x1024.py'),
    ('mmpretrain', 'mmpretrain', 'resnet/resnet50_8xb32_in1k.py'),
]


def _shapes(backbone, x):
    backbone.eval()  # SyncBN (mmseg's configs) runs as BN in eval mode on a CPU
    with torch.no_grad():
        return [tuple(o.shape) for o in backbone(x)]


@pytest.mark.parametrize('package,scope,rel', STOCK, ids=[r[2].split('/')[1][:-3] for r in STOCK])
@pytest.mark.parametrize('mmext_type', ['ODResNet', 'KWResNet'])
def test_stock_config_type_swap_same_shapes(package, scope, rel, mmext_type):
    cfg = _stock_config(package, rel)
    upstream_cfg = copy.deepcopy(cfg.model.backbone)
    ours_cfg = copy.deepcopy(cfg.model.backbone)
    # ResNet -> ODResNet, ResNetV1c (mmseg's -d8 configs) -> ODResNetV1c
    ours_cfg['type'] = upstream_cfg['type'].replace('ResNet', mmext_type)
    x = torch.randn(1, 3, 64, 64)
    with DefaultScope.overwrite_default_scope(scope):
        upstream = _registry(scope).build(upstream_cfg)
        ours = _registry(scope).build(ours_cfg)
    assert type(ours).__name__ == ours_cfg['type'] and isinstance(ours, (ODResNet, KWResNet))
    assert getattr(ours, 'deep_stem') == getattr(upstream, 'deep_stem')
    ref = _shapes(upstream, x)
    assert _shapes(ours, x) == ref
    if '-d8' in rel:
        assert ref[-1][-1] == 8  # output stride 8, not 32
    norm_type = upstream_cfg.get('norm_cfg', {}).get('type', 'BN')
    if norm_type == 'SyncBN':
        assert isinstance(ours.layer1[0].bn1, torch.nn.SyncBatchNorm)
    if upstream_cfg.get('norm_cfg', {}).get('requires_grad') is False:
        assert not ours.layer1[0].bn1.weight.requires_grad
    if upstream_cfg.get('frozen_stages', -1) >= 1:
        assert not any(p.requires_grad for p in ours.layer1.parameters())


def test_mmseg_segmentor_pretrained_goes_to_init_cfg():
    """mmseg's EncoderDecoder hands ``model.pretrained`` to the backbone; ours turns it into init_cfg like mmseg."""
    cfg = _stock_config('mmseg', 'fcn/fcn_r50-d8_4xb2-40k_cityscapes-512x1024.py')
    assert cfg.model.backbone.type == 'ResNetV1c'
    cfg.model.backbone.type = 'ODResNetV1c'
    cfg.model.backbone.depth = 18
    cfg.model.decode_head.in_channels = 512
    cfg.model.decode_head.channels = 16
    cfg.model.auxiliary_head.in_channels = 256
    cfg.model.auxiliary_head.channels = 16
    cfg.model.data_preprocessor.size = (64, 64)
    with DefaultScope.overwrite_default_scope('mmseg'), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        seg = _registry('mmseg').build(cfg.model)
    assert any('pretrained is deprecated' in str(w.message) for w in caught)
    assert seg.backbone.init_cfg == dict(type='Pretrained', checkpoint='open-mmlab://resnet50_v1c')
    assert seg.backbone.deep_stem and hasattr(seg.backbone, 'stem')
    seg.eval()
    with torch.no_grad():
        out = seg(torch.randn(1, 3, 64, 64), mode='tensor')
    assert out.shape == (1, 19, 8, 8)


def test_v1c_v1d_stem_and_caffe_style_match_upstream_layout():
    from mmdet.models.backbones import ResNet, ResNetV1d
    x = torch.randn(2, 3, 64, 64)
    ours = ODResNetV1d(depth=50, out_indices=(0, 1, 2, 3), base_channels=16)
    ref = ResNetV1d(depth=50, out_indices=(0, 1, 2, 3), base_channels=16, stem_channels=16)
    assert _shapes(ours, x) == _shapes(ref, x)
    assert isinstance(ours.layer2[0].downsample[0], torch.nn.AvgPool2d)
    assert [type(m).__name__ for m in ours.stem] == [type(m).__name__ for m in ref.stem]
    caffe = KWResNet(50, style='caffe', base_channels=16, out_indices=(0, 1, 2, 3))
    assert caffe.layer2[0].conv1.stride in (2, (2, 2)) and caffe.layer2[0].conv2.stride in (1, (1, 1))
    assert _shapes(caffe, x) == _shapes(ResNet(depth=50, style='caffe', base_channels=16, stem_channels=16,
                                               out_indices=(0, 1, 2, 3)), x)


def test_dilations_contract_dilation_multi_grid():
    m = ODResNet(18, strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4), contract_dilation=True, base_channels=16,
                 multi_grid=(1, 2), out_indices=(0, 1, 2, 3))
    assert m.layer3[0].conv1.dilation == 1 and m.layer3[1].conv1.dilation == 2  # contracted first block
    assert m.layer4[0].conv1.dilation == 1 and m.layer4[1].conv1.dilation == 2  # multi_grid on the last stage
    assert [s[-1] for s in _shapes(m, torch.randn(1, 3, 64, 64))] == [16, 8, 8, 8]
    kw = KWResNet(50, strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4), base_channels=16, out_indices=(3, ))
    assert kw.layer4[1].conv2.dilation == 4 and kw.layer4[1].conv2.padding == 4


def test_num_stages_gn_with_cp_zero_init_gradients():
    m = KWResNet(18, num_stages=3, strides=(1, 2, 2), dilations=(1, 1, 1), out_indices=(0, 2), base_channels=16,
                 norm_cfg=dict(type='GN', num_groups=4), with_cp=True, zero_init_residual=True)
    assert not hasattr(m, 'layer4') and m.out_channels == (16, 64)
    assert isinstance(m.layer1[0].bn1, torch.nn.GroupNorm)
    assert torch.count_nonzero(m.layer1[0].bn2.weight) == 0
    m.train()
    outs = m(torch.randn(2, 3, 32, 32))
    sum(o.sum() for o in outs).backward()
    assert all(p.grad is not None for p in m.parameters() if p.requires_grad)


@pytest.mark.parametrize('kwargs,exc,match', [
    (dict(depth='50'), TypeError, r"depth must be an int .*got '50' of type str"),
    (dict(depth=50, num_stages=5), ValueError, 'num_stages must be one of'),
    (dict(depth=50, strides=(1, 2, 2)), ValueError, r'strides needs one entry per stage \(num_stages=4\)'),
    (dict(depth=50, style='tf'), ValueError, "style must be one of"),
    (dict(depth=50, conv_cfg=dict(type='DCNv2')), ValueError, 'conv_cfg=.*cannot be honoured'),
    (dict(depth=50, plugins=[dict(cfg=dict(type='ContextBlock'))]), ValueError, 'plugins=.*cannot be honoured'),
    (dict(depth=50, expansion=2), ValueError, 'expansion=2 cannot be honoured'),
    (dict(depth=50, multi_grid=(1, 2)), ValueError, 'multi_grid needs one dilation per block'),
    (dict(depth=50, pretrained=3), TypeError, 'pretrained must be a str or None'),
    (dict(depth=50, pretrained='a.pth', init_cfg=dict(type='Pretrained', checkpoint='b.pth')), ValueError,
     'init_cfg and pretrained cannot be set at the same time'),
    (dict(depth=50, norm_cfg='BN'), TypeError, 'norm_cfg must be a dict'),
])
def test_values_that_cannot_be_honoured_are_named(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        ODResNet(**kwargs)


def test_stock_mask2former_with_odresnet_and_pftheads_type_swap():
    """mmseg's Mask2Former config: backbone and decode head swapped by ``type`` alone (README, "own configs")."""
    cfg = _stock_config('mmseg', 'mask2former/mask2former_r50_8xb2-90k_cityscapes-512x1024.py')
    cfg.merge_from_dict(dict(model=dict(backbone=dict(type='ODResNet'), decode_head=dict(type='PFTHead'))))
    with DefaultScope.overwrite_default_scope('mmseg'):
        seg = _registry('mmseg').build(cfg.model)
    assert type(seg.decode_head).__name__ == 'PFTHead'
    assert seg.decode_head.transformer_decoder.num_layers == 9  # the stock config's decoder settings
    seg.eval()
    with torch.no_grad():
        cls_scores, mask_preds = seg(torch.randn(1, 3, 64, 64), mode='tensor')
    assert len(cls_scores) == 9 and cls_scores[-1].shape == (1, 100, 20)  # 19 classes + no-object
    assert mask_preds[-1].shape[-2:] == (16, 16)


def test_stock_mmpretrain_resnet_with_noah_head():
    """mmpretrain's ResNet-50: ``type`` swaps for backbone and head, plus ``neck=None`` (NOAH pools itself)."""
    cfg = _stock_config('mmpretrain', 'resnet/resnet50_8xb32_in1k.py')
    cfg.merge_from_dict(dict(model=dict(backbone=dict(type='KWResNet'), neck=None,
                                        head=dict(type='NOAHHead', head_num=4, key_ratio=1 / 8))))
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        clf = _registry('mmpretrain').build(cfg.model)
    assert type(clf.head).__name__ == 'NOAHHead' and clf.neck is None
    clf.eval()
    with torch.no_grad():
        assert clf(torch.randn(2, 3, 64, 64), mode='tensor').shape == (2, 1000)


PS_STOCK = [r for r in STOCK if '-d8' not in r[2] and 'mask2former' not in r[2]]


@pytest.mark.parametrize('package,scope,rel', PS_STOCK, ids=[r[2].split('/')[1][:-3] for r in PS_STOCK])
def test_psresnet_stock_config_type_swap_same_shapes(package, scope, rel):
    """PSResNet takes the same ResNet arguments (norm_cfg, style, num_stages, frozen_stages, init_cfg ...)."""
    from mmext.backbones import PSResNet
    cfg = _stock_config(package, rel)
    upstream_cfg = copy.deepcopy(cfg.model.backbone)
    ours_cfg = dict(copy.deepcopy(upstream_cfg), type='PSResNet')
    with DefaultScope.overwrite_default_scope(scope):
        upstream = _registry(scope).build(upstream_cfg)
        ours = _registry(scope).build(ours_cfg)
    assert isinstance(ours, PSResNet) and ours.init_cfg == upstream_cfg.get('init_cfg')
    x = torch.randn(1, 3, 64, 64)
    assert _shapes(ours, x) == _shapes(upstream, x)
    if upstream_cfg.get('frozen_stages', -1) >= 1:
        assert not any(p.requires_grad for p in ours.layer1.parameters())


def test_psresnet_dilated_stage_is_refused_by_name():
    from mmext.backbones import PSResNet
    with pytest.raises(ValueError, match=r'a dilated stage \(dilation 2\) cannot use PSConv'):
        PSResNet(50, strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4), base_channels=16)
    m = PSResNet(50, deep_stem=True, avg_down=True, norm_cfg=dict(type='SyncBN'), base_channels=16, stem_channels=16)
    assert isinstance(m.layer1[0].bn1, torch.nn.SyncBatchNorm) and hasattr(m, 'stem')


def test_out_channels_follow_the_output_order_for_unsorted_out_indices():
    """The forwards return stages in stage order (as upstream); ``out_channels`` lists them in that order too."""
    from mmext.backbones import KWMobileNetV2
    x = torch.randn(1, 3, 32, 32)
    for m in (ODResNet(18, out_indices=(3, 1), base_channels=16), KWMobileNetV2(0.5, out_indices=(7, 2))):
        assert [s[1] for s in _shapes(m, x)] == list(m.out_channels), type(m).__name__
