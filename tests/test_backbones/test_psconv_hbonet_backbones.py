"""PS-ResNet / PS-ResNeXt and HBONet backbones: published parameter / MAdd counts, mmdet-style options, gradients.

PSConv (ECCV 2020, arXiv 2007.06191) and HBONet (ICCV 2019, arXiv 1908.03888); published numbers in
shared/docs/references/backbones.md 3.2 and 4.3.
"""
import pytest
import torch
import torch.nn as nn
from mmengine.analysis import FlopAnalyzer

from mmext.backbones import HBONet, PSResNet, PSResNeXt
from mmext.ops import PSGConv2d


def _conv_linear_macs(model: nn.Module, x: torch.Tensor) -> int:
    """Multiply-adds of every Conv2d and Linear (the count behind HBONet's published MFLOPs)."""
    total = [0]

    def hook(m, inputs, out):
        if isinstance(m, nn.Conv2d):
            total[0] += out[0].numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
        elif isinstance(m, nn.Linear):
            total[0] += m.in_features * m.out_features

    handles = [m.register_forward_hook(hook) for m in model.modules()]
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return total[0]


def _hbonet_classifier(**kwargs) -> nn.Module:
    b = HBONet(**kwargs).eval()
    return nn.Sequential(b.features, b.conv, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(1600, 1000))


def _params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


# published MFLOPs (release README); 1.0x also 4.5M params (OMZ: 4.5447M); our measured 1.0x: 4,562,116
@pytest.mark.parametrize('width,mflops', [(1.0, 305), (0.8, 205), (0.5, 96), (0.35, 61), (0.25, 37), (0.1, 14)])
def test_hbonet_madds_match_published(width, mflops):
    m = _hbonet_classifier(widen_factor=width)
    assert abs(_conv_linear_macs(m, torch.zeros(1, 3, 224, 224)) / 1e6 - mflops) < 0.7
    if width == 1.0:
        assert round(_params(m) / 1e6, 1) == 4.6  # 4.56M: the release instantiated (reference 4.3); README "4.5M"
        assert abs(_params(m) - 4.5447e6) / 4.5447e6 < 0.005  # OpenVINO OMZ's count, within 0.5 %


def test_hbonet_table6_variants_and_divisible_value():
    # Table 6 at 0.25x: the 4x variant has 45M MAdds (the release's variant checkpoints use divisible_value=8)
    m4 = _hbonet_classifier(widen_factor=0.25, arch='4x', divisible_value=8)
    assert round(_conv_linear_macs(m4, torch.zeros(1, 3, 224, 224)) / 1e6) == 45
    assert HBONet(0.1).divisible_value == 4 and HBONet(0.5).divisible_value == 2
    assert HBONet(0.35).divisible_value == 8
    assert HBONet(0.5).stage_channels[:3] == (10, 18, 36)
    with pytest.raises(ValueError, match="arch must be one of"):
        HBONet(arch='16x')
    with pytest.raises(ValueError, match='out_indices must be in 0..9'):
        HBONet(out_indices=(10, ))


def test_psresnet_effective_and_stored_parameters():
    # effective = the plain ResNet-50 / 101 / ResNeXt-101 32x4d (+ 1000-class fc): 25.56M / 44.55M / 44.18M
    fc = 2048 * 1000 + 1000
    for cls, kw, plain in [(PSResNet, dict(depth=50), 25_557_032), (PSResNet, dict(depth=101), 44_549_160),
                           (PSResNeXt, dict(depth=101, groups=32, base_width=4), 44_177_704)]:
        compact, release = cls(**kw), cls(weight_layout='release', **kw)
        assert _params(compact) + fc == compact.effective_param_count() + fc == plain
        assert release.effective_param_count() + fc == plain
        extra = sum(m.conv.weight.numel() // 2 for m in release.ps_convs())
        assert _params(release) + fc == plain + extra  # the release stores the masked half too: 1.5x per 3x3
    assert _params(PSResNet(depth=50, weight_layout='release')) + fc == 31_215_656


def test_psresnet_flops_equal_plain_resnet():
    from mmpretrain.models import ResNet
    x = (torch.randn(1, 3, 64, 64), )
    ps = FlopAnalyzer(PSResNet(depth=50, base_channels=16).eval(), x).total()
    resnet = ResNet(depth=50, stem_channels=16, base_channels=16)
    resnet.eval()  # mmpretrain's ResNet.train() returns None
    plain = FlopAnalyzer(resnet, x).total()
    assert ps == plain


@pytest.mark.parametrize('cls,kw', [(PSResNet, dict(depth=50)), (PSResNeXt, dict(depth=50, groups=4, base_width=16)),
                                    (PSResNeXt, dict(depth=50, groups=2, base_width=16, weight_layout='release',
                                                     release_compat=True))])
def test_psresnet_forward_gradients_out_indices(cls, kw):
    m = cls(base_channels=16, out_indices=(0, 1, 2, 3), **kw)
    outs = m(torch.randn(2, 3, 64, 64))
    assert [o.shape[1] for o in outs] == list(m.out_channels) == [64, 128, 256, 512]
    assert [o.shape[-1] for o in outs] == [16, 8, 4, 2]
    sum(o.mean() for o in outs).backward()
    assert all(p.grad is not None for p in m.parameters())
    assert not any(torch.isnan(o).any() for o in outs)
    ps = m.ps_convs()
    assert len(ps) == 16 and all(c.dilation == 2 and c.parts == 4 for c in ps)
    if kw.get('weight_layout') == 'release':
        assert all(c.conv.weight[c.mask].abs().max() == 0 for c in ps)  # zeroed after the base's init
    m.eval()
    assert m(torch.randn(1, 3, 64, 64))[0].shape == (1, 64, 16, 16)  # batch 1


def test_psresnet_frozen_stages_norm_eval_and_dcn():
    m = PSResNet(depth=50, base_channels=16, frozen_stages=1, norm_eval=True, out_indices=(3, ),
                 dcn=dict(type='DCNv2', deform_groups=1), stage_with_dcn=(False, True, True, True))
    m.train()
    assert not any(p.requires_grad for p in m.layer1.parameters()) and not m.conv1.weight.requires_grad
    assert all(p.requires_grad for p in m.layer2.parameters())
    assert not m.layer2[0].bn1.training
    assert type(m.layer2[0].conv2).__name__ == 'ModulatedDeformConv2dPack'
    assert isinstance(m.layer1[0].conv2, PSGConv2d)
    out = m(torch.randn(2, 3, 64, 64))[0]
    out.mean().backward()
    assert all(p.grad is not None for p in m.parameters() if p.requires_grad)
    with pytest.raises(ValueError, match=r'depth must be one of \[50, 101\], got 18'):
        PSResNet(depth=18)
    with pytest.raises(TypeError, match=r"depth must be an int \(one of \[50, 101\]\), got '50' of type str"):
        PSResNet(depth='50')
    with pytest.raises(ValueError, match="dcn\\['type'\\] must be 'DCN' or 'DCNv2'"):
        PSResNet(depth=50, base_channels=16, dcn=dict(type='DCNv3'), stage_with_dcn=(True, ) * 4)


def test_hbonet_forward_modes_detection_use_and_gradients():
    m = HBONet(0.5, out_indices=(2, 3, 6, 9), frozen_stages=2, norm_eval=True)
    m.train()
    outs = m(torch.randn(2, 3, 64, 64))
    assert [o.shape[1] for o in outs] == list(m.out_channels) == [36, 48, 72, 1600]
    assert [o.shape[-1] for o in outs] == [16, 8, 4, 2]
    sum(o.mean() for o in outs).backward()
    trainable = [p for p in m.parameters() if p.requires_grad]
    assert all(p.grad is not None for p in trainable)
    assert not any(p.requires_grad for p in m.features[:m.row_ends[1] + 1].parameters())
    assert not m.features[-1].conv[1].training  # norm_eval
    # odd and non-multiple-of-32 sizes (detection / segmentation inputs) run; the release needs even maps
    for size in [(1, 3, 100, 76), (1, 3, 33, 47)]:
        assert all(not torch.isnan(o).any() for o in HBONet(0.25, arch='4x', out_indices=(3, 9)).eval()(
            torch.randn(*size)))
    assert HBONet(0.25, out_indices=(3, )).conv is None
