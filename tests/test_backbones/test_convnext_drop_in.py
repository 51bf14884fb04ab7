"""KWConvNeXt as a drop-in replacement of mmpretrain's ``ConvNeXt``: the stock convnext-tiny classification config
and mmdet's / mmseg's ConvNeXt configs (``out_indices=[0, 1, 2, 3]``, no pooling) with only ``type`` changed give
the upstream feature shapes, and every ConvNeXt argument keeps its meaning."""
import copy

import pytest
import torch
from mmengine.registry import DefaultScope

from mmext.backbones import KWConvNeXt
from mmext.backbones.kw_convnext import GRN2d, LayerNorm2d
from tests.test_backbones.test_resnet_drop_in import _registry, _shapes, _stock_config

SMALL = dict(depths=[1, 1, 2, 1], channels=[16, 32, 64, 128])

STOCK = [
    ('mmpretrain', 'mmpretrain', 'convnext/convnext-tiny_32xb128_in1k.py'),
    ('mmdet', 'mmdet', 'convnext/mask-rcnn_convnext-t-p4-w7_fpn_amp-ms-crop-3x_coco.py'),
    ('mmseg', 'mmseg', 'convnext/convnext-tiny_upernet_8xb2-amp-160k_ade20k-512x512.py'),
]


@pytest.mark.parametrize('package,scope,rel', STOCK, ids=[s[0] for s in STOCK])
def test_stock_convnext_config_type_swap_same_shapes(package, scope, rel):
    cfg = _stock_config(package, rel)
    upstream_cfg = copy.deepcopy(cfg.model.backbone)
    assert upstream_cfg['type'] in ('ConvNeXt', 'mmpretrain.ConvNeXt')
    ours_cfg = copy.deepcopy(cfg.model.backbone)
    ours_cfg['type'] = 'KWConvNeXt'
    for c in (upstream_cfg, ours_cfg):  # no download: the weights do not change the shapes
        c.pop('init_cfg', None)
    with DefaultScope.overwrite_default_scope(scope):
        upstream = _registry(scope).build(upstream_cfg)
        ours = _registry(scope).build(ours_cfg)
    assert isinstance(ours, KWConvNeXt)
    x = torch.randn(1, 3, 64, 64)
    assert _shapes(ours, x) == _shapes(upstream, x)
    assert ours.out_indices == tuple(upstream.out_indices)
    assert ours.gap_before_final_norm == upstream.gap_before_final_norm
    # drop path and layer scale as configured (mmdet/mmseg: layer_scale_init_value=1.0, drop_path_rate 0.4)
    assert ours.stages[-1][-1].drop_path.drop_prob == pytest.approx(upstream.stages[-1][-1].drop_path.drop_prob)
    assert torch.allclose(ours.stages[0][0].gamma.flatten(), upstream.stages[0][0].gamma)
    assert [type(m).__name__ for m in ours.modules() if isinstance(m, torch.nn.LayerNorm)].count('LayerNorm2d') == \
        sum(isinstance(m, torch.nn.LayerNorm) for m in upstream.modules())
    consumer = cfg.model.get('neck') or cfg.model.get('decode_head') or cfg.model.head
    channels = consumer['in_channels']
    assert list(ours.out_channels) == (list(channels) if isinstance(channels, (list, tuple)) else [channels])


def test_stock_mmpretrain_convnext_classifier_builds_and_trains_with_type_swap():
    cfg = _stock_config('mmpretrain', STOCK[0][2])
    cfg.model.backbone.type = 'KWConvNeXt'
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        clf = _registry('mmpretrain').build(cfg.model)
    from mmpretrain.structures import DataSample
    assert isinstance(clf.backbone, KWConvNeXt) and clf.backbone.stages[-1][-1].drop_path.drop_prob == 0.1
    clf.train()
    x = torch.randn(2, 3, 64, 64)
    losses = clf(x, [DataSample().set_gt_label(3), DataSample().set_gt_label(7)], mode='loss')
    assert torch.isfinite(losses['loss'])
    losses['loss'].backward()
    assert clf.backbone.warehouse_manager.weights[0].grad is not None
    clf.eval()
    with torch.no_grad():
        assert clf(x, mode='tensor').shape == (2, 1000)


def test_arch_settings_match_upstream():
    from mmpretrain.models import ConvNeXt
    assert {k: (list(v['depths']), list(v['channels'])) for k, v in KWConvNeXt.arch_settings.items()} == \
        {k: (list(v['depths']), list(v['channels'])) for k, v in ConvNeXt.arch_settings.items()}


def test_in_channels_stem_patch_out_indices_frozen_stages_like_upstream():
    from mmpretrain.models import ConvNeXt
    kwargs = dict(arch=SMALL, in_channels=1, stem_patch_size=2, out_indices=[-1, 1], gap_before_final_norm=False,
                  frozen_stages=2)
    ours, ref = KWConvNeXt(**kwargs), ConvNeXt(**copy.deepcopy(kwargs))
    x = torch.randn(2, 1, 32, 32)
    assert _shapes(ours, x) == _shapes(ref, x) == [(2, 32, 8, 8), (2, 128, 2, 2)]  # in stage order
    assert ours.out_indices == (3, 1) and ours.out_channels == (32, 128)
    ours.train()
    ref.train()
    for i in range(4):  # frozen_stages = number of frozen stages (not ResNet's "stages 0..n")
        for mods in (ours.downsample_layers[i], ours.stages[i]):
            trainable = {p.requires_grad for n, p in mods.named_parameters()}
            assert trainable == {i >= 2}, i
        assert ours.stages[i].training == (i >= 2) == ref.stages[i].training
    # the shared warehouses of stages 0 and 1 are used only there, so they are frozen too
    frozen_wh = [w for w in ours.warehouse_manager.weights if not w.requires_grad]
    assert frozen_wh and len(frozen_wh) < len(ours.warehouse_manager.weights)


def test_norm_act_grn_layer_scale_and_linear_pw_conv():
    m = KWConvNeXt(SMALL, norm_cfg=dict(type='LN2d', eps=1e-5), act_cfg=dict(type='ReLU'), use_grn=True,
                   layer_scale_init_value=0.0, linear_pw_conv=False, out_indices=(0, 1, 2, 3),
                   gap_before_final_norm=False)
    block = m.stages[2][1]
    assert isinstance(block.norm, LayerNorm2d) and block.norm.eps == 1e-5
    assert isinstance(block.act, torch.nn.ReLU) and isinstance(block.grn, GRN2d) and block.gamma is None
    assert isinstance(m.norm3, LayerNorm2d) and m.downsample_layers[0][1].eps == 1e-5
    gn = KWConvNeXt(SMALL, norm_cfg=dict(type='GN', num_groups=4), out_indices=(3, ))
    assert isinstance(gn.stages[0][0].norm, torch.nn.GroupNorm)
    assert gn(torch.randn(2, 3, 32, 32))[0].shape == (2, 128)
    assert KWConvNeXt(SMALL, linear_pw_conv=True).out_channels == (128, )


def test_grn_equals_mmpretrain_grn():
    from mmpretrain.models.utils import GRN
    ours, ref = GRN2d(8), GRN(8)
    torch.nn.init.normal_(ref.gamma)
    torch.nn.init.normal_(ref.beta)
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(2, 8, 5, 5)
    assert torch.allclose(ours(x), ref(x, data_format='channel_first'), atol=1e-6)


def test_layernorm2d_equals_mmpretrain_ln2d():
    from mmpretrain.models.utils import LayerNorm2d as RefLN2d
    ours, ref = LayerNorm2d(8, eps=1e-6), RefLN2d(8, eps=1e-6)
    torch.nn.init.normal_(ref.weight)
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(2, 8, 5, 5)
    assert torch.allclose(ours(x), ref(x), atol=1e-6)


def test_with_cp_same_outputs_and_grads():
    torch.manual_seed(0)
    plain = KWConvNeXt(SMALL, out_indices=(1, 3), gap_before_final_norm=False)
    ckpt = KWConvNeXt(SMALL, out_indices=(1, 3), gap_before_final_norm=False, with_cp=True)
    ckpt.load_state_dict(plain.state_dict())
    calls = []
    ckpt.stages[2][0].dwconv.register_forward_hook(lambda *a: calls.append(1))
    x = torch.randn(2, 3, 32, 32)
    grads = []
    for m in (plain, ckpt):
        m.train()
        outs = m(x)
        sum((o * o).mean() for o in outs).backward()
        grads.append({n: p.grad.clone() for n, p in m.named_parameters() if p.grad is not None})
        assert len(grads[-1]) == sum(p.requires_grad for p in m.parameters()), 'every parameter gets a gradient'
    assert len(calls) == 2, 'the checkpointed block is recomputed in backward'
    assert grads[0].keys() == grads[1].keys()
    for n in grads[0]:
        assert torch.allclose(grads[0][n], grads[1][n], rtol=1e-5, atol=1e-7), n
    with torch.no_grad():
        plain.eval()
        ckpt.eval()
        assert all(torch.equal(a, b) for a, b in zip(plain(x), ckpt(x)))


def test_released_dims_key_still_accepted():
    m = KWConvNeXt(dict(depths=[1, 1, 1, 1], dims=[8, 16, 32, 64]))
    assert m.channels == (8, 16, 32, 64)


@pytest.mark.parametrize('kwargs,exc,match', [
    (dict(arch='tinyy'), ValueError, r"arch must be one of \[.*'tiny'.*\] or a dict, got 'tinyy'"),
    (dict(arch=dict(depths=[1, 1])), ValueError, 'a dict arch needs exactly "depths" and "channels"'),
    (dict(arch=dict(depths=[1, 1], channels=[8])), ValueError, 'must be sequences of the same length'),
    (dict(arch=SMALL, norm_cfg=dict(type='LN')), ValueError, r"norm_cfg=\{'type': 'LN'\} cannot be honoured"),
    (dict(arch=SMALL, norm_cfg='LN2d'), TypeError, 'norm_cfg must be a dict'),
    (dict(arch=SMALL, act_cfg='GELU'), TypeError, 'act_cfg must be a dict'),
    (dict(arch=SMALL, out_indices=4), ValueError, r'out_indices must be in -4..3, got \[4\]'),
    (dict(arch=SMALL, out_indices='3'), TypeError, 'out_indices must be an int or a sequence of ints'),
    (dict(arch=SMALL, frozen_stages=5), ValueError, r'frozen_stages must be an int in 0..4'),
])
def test_values_that_cannot_be_honoured_are_named(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        KWConvNeXt(**kwargs)


def test_mmdet_layer_wise_lr_decay_constructor_sees_the_same_layers():
    """mmdet's ConvNeXt config trains with ``LearningRateDecayOptimizerConstructor`` (layer ids from the
    ``downsample_layers.{i}`` / ``stages.{i}.{j}`` names): every KWConvNeXt block parameter gets the lr of the
    upstream block at the same position; the warehouses (``warehouse_manager.weights``) get the top layer's lr."""
    from mmengine.optim import build_optim_wrapper
    cfg = _stock_config('mmdet', STOCK[1][2])
    optim_cfg = copy.deepcopy(cfg.optim_wrapper)
    optim_cfg['type'] = 'OptimWrapper'  # AmpOptimWrapper needs a GPU; the constructor is what is tested
    lrs = []
    for backbone_type in ('mmpretrain.ConvNeXt', 'KWConvNeXt'):
        bb = dict(copy.deepcopy(cfg.model.backbone), type=backbone_type)
        bb.pop('init_cfg')
        with DefaultScope.overwrite_default_scope('mmdet'):
            holder = torch.nn.Module()
            holder.backbone = _registry('mmdet').build(bb)
            wrapper = build_optim_wrapper(holder, copy.deepcopy(optim_cfg))
        by_param = {id(p): g['lr'] for g in wrapper.optimizer.param_groups for p in g['params']}
        lrs.append({n: by_param[id(p)] for n, p in holder.named_parameters()})
    upstream, ours = lrs
    assert len(set(upstream.values())) > 3, 'layer-wise decay is active'

    def position(name):
        parts = name.split('.')
        return '.'.join(parts[:4] if parts[1] == 'stages' else parts[:3])

    ref = {position(n): lr for n, lr in upstream.items() if n.split('.')[1] in ('stages', 'downsample_layers')}
    checked = 0
    for n, lr in ours.items():
        if n.split('.')[1] in ('stages', 'downsample_layers'):
            assert lr == pytest.approx(ref[position(n)]), n
            checked += 1
    assert checked > 100
    assert ours['backbone.warehouse_manager.weights.0'] == pytest.approx(max(upstream.values()))
