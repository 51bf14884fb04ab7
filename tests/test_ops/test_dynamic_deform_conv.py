"""Deformable dynamic convs: mmcv's modulated deformable conv grouped over the batch with the per-sample kernel."""
import pytest
import torch

from mmext.backbones import KWResNet, ODResNet
from mmext.ops import DynamicDeformConv2d, ODConv2d, WarehouseManager

pytest.importorskip('mmcv.ops')


def test_zero_offset_unit_mask_equals_dynamic_conv():
    torch.manual_seed(0)
    conv = ODConv2d(8, 16, 3, 2, 1, kernel_num=4).eval()
    x = torch.randn(3, 8, 9, 9)
    with torch.no_grad():
        ref = conv(x)
        offset = torch.zeros(3, 2 * 9, 5, 5)
        mask = torch.ones(3, 9, 5, 5)
        assert torch.allclose(conv(x, offset=offset, mask=mask), ref, rtol=1e-4, atol=1e-5)
        assert torch.allclose(conv(x, offset=offset), ref, rtol=1e-4, atol=1e-5)  # DCN: unit mask
        # per-sample offsets really are per sample: shifting sample 1 only changes sample 1
        offset[1] = 1.0
        out = conv(x, offset=offset, mask=mask)
        assert torch.allclose(out[0], ref[0], rtol=1e-4, atol=1e-5) and not torch.allclose(out[1], ref[1])


def test_kw_deform_zero_offset_equals_dynamic_conv():
    torch.manual_seed(0)
    wm = WarehouseManager()
    conv = wm.reserve(8, 8, 3, 1, 1, bias=False, warehouse_name='a')
    holder = torch.nn.Module()
    holder.warehouse_manager, holder.conv = wm, conv
    wm.store()
    wm.allocate(holder)
    holder.eval()
    x = torch.randn(2, 8, 6, 6)
    with torch.no_grad():
        assert torch.allclose(conv(x, offset=torch.zeros(2, 18, 6, 6)), conv(x), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize('cls,kwargs', [(ODResNet, dict(kernel_num=2)), (KWResNet, dict(cell_num_ratio=1))])
def test_backbone_dcn_zero_offset_equals_plain(cls, kwargs):
    torch.manual_seed(0)
    dcn = dict(type='DCN', deform_groups=1, fallback_on_stride=False)
    plain = cls(depth=50, out_indices=(3, ), **kwargs).eval()
    deform = cls(depth=50, out_indices=(3, ), dcn=dcn, stage_with_dcn=(False, False, True, True), **kwargs).eval()
    assert isinstance(deform.layer3[0].conv2, DynamicDeformConv2d) and not isinstance(deform.layer2[0].conv2,
                                                                                         DynamicDeformConv2d)
    state = {k.replace('conv2.conv.', 'conv2.'): v for k, v in deform.state_dict().items() if 'conv_offset' not in k}
    plain.load_state_dict(state, strict=True)
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(deform(x)[0], plain(x)[0], rtol=1e-3, atol=1e-4)


def test_dcnv2_wrapper_trains():
    torch.manual_seed(0)
    layer = DynamicDeformConv2d(ODConv2d(8, 8, 3, 1, 1, kernel_num=2), deform_groups=2, modulated=True).train()
    layer.conv_offset.weight.data.normal_(0, 0.01)
    out = layer(torch.randn(2, 8, 7, 7))
    out.square().mean().backward()
    for name, p in layer.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name
