"""RON's VGG-16: shapes, parameter counts, freezing, and loading mmdet-SSD / torchvision VGG-16 layouts."""
import pytest
import torch
import torch.nn.functional as F

from mmext.backbones import RONVGG, convert_vgg_to_ronvgg

# conv1_1 ... conv5_3 of VGG-16 (torchvision's vgg16 has 138,357,544 parameters with fc8's 4,097,000)
VGG16_CONV_PARAMS = 14_714_688


def _num_params(model):
    return sum(p.numel() for p in model.parameters())


def test_parameter_counts_match_vgg16():
    with torch.device('meta'):
        reduced = RONVGG(fc_type='reduced', init_cfg=None)
        full = RONVGG(fc_type='full', init_cfg=None)
    # reduced: fc6 3x3 512->1024 (dilation 3), fc7 1x1 1024->1024: the 20.48M of mmdet's SSD VGG backbone
    assert _num_params(reduced) == VGG16_CONV_PARAMS + (512 * 9 * 1024 + 1024) + (1024 * 1024 + 1024) == 20_483_904
    # full: torchvision's vgg16 without fc8
    assert _num_params(full) == 138_357_544 - 4_097_000 == 134_260_544
    assert reduced.out_channels == (512, 512, 1024, 1024) and full.out_channels == (512, 512, 4096, 4096)


@pytest.mark.parametrize('fc_type', ['reduced', 'full'])
def test_output_strides_and_channels(fc_type):
    model = RONVGG(fc_type=fc_type, widen_factor=0.125, norm_cfg=dict(type='BN'))
    model.init_weights()
    outs = model(torch.randn(2, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(2, 64, 8, 8), (2, 64, 4, 4), (2, model.out_channels[2], 2, 2),
                                              (2, model.out_channels[3], 2, 2)]
    assert all(torch.isfinite(o).all() for o in outs)
    outs[-1].sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    # pool5 is 2x2/s2 (SSD's is 3x3/s1): fc6 and fc7 lie at stride 32
    pool5 = model.features[model._out_feature_ids[1] + 1]
    assert isinstance(pool5, torch.nn.MaxPool2d) and pool5.kernel_size == 2 and pool5.stride == 2
    fc6 = [m for m in model.features if isinstance(m, torch.nn.Conv2d)][-2]
    assert (fc6.kernel_size, fc6.dilation, fc6.padding) == (((3, 3), (3, 3), (3, 3)) if fc_type == 'reduced'
                                                            else ((7, 7), (1, 1), (3, 3)))


def test_out_indices_batch1_and_frozen_stages():
    model = RONVGG(widen_factor=0.125, out_indices=(1, 3), frozen_stages=5)
    outs = model(torch.randn(1, 3, 64, 64))
    assert len(outs) == 2 and model.out_channels == (64, 128) and outs[0].shape[0] == 1
    convs = [m for m in model.features if isinstance(m, torch.nn.Conv2d)]
    assert all(not p.requires_grad for c in convs[:13] for p in c.parameters())
    assert all(p.requires_grad for c in convs[13:] for p in c.parameters())


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match='fc_type'):
        RONVGG(fc_type='tiny')
    with pytest.raises(ValueError, match='out_indices'):
        RONVGG(out_indices=(4, ))
    with pytest.raises(ValueError, match='frozen_stages'):
        RONVGG(frozen_stages=9)


def test_loads_mmdet_ssd_vgg_layout():
    """A state dict in mmdet SSD300's layout (``backbone.features.N``, neck/head keys) loads strictly."""
    from mmdet.models.backbones import SSDVGG
    ssd_vgg = SSDVGG(depth=16, with_last_pool=False, ceil_mode=True, out_indices=(3, 4),
                     out_feature_indices=(22, 34))
    ssd_vgg.init_weights()
    ckpt = {f'backbone.{k}': v for k, v in ssd_vgg.state_dict().items()}
    ckpt['neck.l2_norm.weight'] = torch.ones(512)
    ckpt['bbox_head.cls_convs.0.weight'] = torch.zeros(84, 512, 3, 3)
    converted = convert_vgg_to_ronvgg(dict(state_dict=ckpt), fc_type='reduced')
    model = RONVGG(fc_type='reduced', init_cfg=None)
    model.load_state_dict(converted, strict=True)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        conv4_3_ssd = ssd_vgg(x)[0]
        conv4_3 = model(x)[0]
    torch.testing.assert_close(conv4_3, conv4_3_ssd)
    with pytest.raises(ValueError, match="fc_type='full'"):
        convert_vgg_to_ronvgg(ckpt, fc_type='full')


def test_loads_torchvision_vgg16_layout_into_full_fc():
    model = RONVGG(fc_type='full', init_cfg=None)
    sd = {k: v for k, v in model.state_dict().items() if int(k.split('.')[1]) < 31}
    fc6_w, fc6_b = torch.randn(4096, 512 * 7 * 7) * 0.01, torch.randn(4096)
    sd.update({'classifier.0.weight': fc6_w, 'classifier.0.bias': fc6_b,
               'classifier.3.weight': torch.randn(4096, 4096), 'classifier.3.bias': torch.randn(4096),
               'classifier.6.weight': torch.randn(1000, 4096), 'classifier.6.bias': torch.randn(1000)})
    model.load_state_dict(convert_vgg_to_ronvgg(sd, fc_type='full'), strict=True)
    # the 7x7 fc6 conv at the centre of a 7x7 pool5 map equals torchvision's Linear on the flattened map
    pool5 = torch.randn(1, 512, 7, 7)
    with torch.no_grad():
        conv_out = model.features[31](pool5)[0, :, 3, 3]
    torch.testing.assert_close(conv_out, F.linear(pool5.flatten(1), fc6_w, fc6_b)[0], rtol=1e-4, atol=1e-4)
