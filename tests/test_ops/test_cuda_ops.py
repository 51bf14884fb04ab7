"""CUDA checks (marked ``cuda``; skipped with a reason on machines without a GPU): mmcv's compiled deformable
conv and nms, and mmext's dynamic convolutions, against their CPU results, which the CPU tests check against
pure-PyTorch references."""
import copy

import pytest
import torch

pytestmark = pytest.mark.cuda


def _to_cuda_copy(module: torch.nn.Module) -> torch.nn.Module:
    return copy.deepcopy(module).cuda()


def test_mmcv_modulated_deform_conv_cuda_matches_cpu():
    from mmcv.ops import ModulatedDeformConv2dPack
    torch.manual_seed(0)
    conv = ModulatedDeformConv2dPack(8, 16, 3, padding=1, deform_groups=2)
    torch.nn.init.normal_(conv.conv_offset.weight, std=0.05)  # non-trivial offsets and masks
    x = torch.randn(2, 8, 17, 19, requires_grad=True)
    x_cuda = x.detach().cuda().requires_grad_()
    out_cpu, out_cuda = conv(x), _to_cuda_copy(conv)(x_cuda)
    torch.testing.assert_close(out_cuda.cpu(), out_cpu, rtol=1e-4, atol=1e-4)
    out_cpu.square().sum().backward()
    out_cuda.square().sum().backward()
    torch.testing.assert_close(x_cuda.grad.cpu(), x.grad, rtol=1e-3, atol=1e-3)


def test_mmcv_nms_cuda_matches_cpu():
    from mmcv.ops import nms
    torch.manual_seed(0)
    xy = torch.rand(200, 2) * 100
    boxes = torch.cat([xy, xy + torch.rand(200, 2) * 30 + 1], dim=1)
    scores = torch.rand(200)
    keep_cpu = nms(boxes, scores, 0.5)[1]
    keep_cuda = nms(boxes.cuda(), scores.cuda(), 0.5)[1]
    assert torch.equal(keep_cuda.cpu(), keep_cpu)


def _kw_holder() -> torch.nn.Module:
    from mmext.ops import WarehouseManager
    wm = WarehouseManager()
    holder = torch.nn.Module()
    holder.warehouse_manager, holder.conv = wm, wm.reserve(16, 32, 3, 1, 1, bias=False, warehouse_name='a')
    wm.store()
    wm.allocate(holder)
    return holder


@pytest.mark.parametrize('name', ['ODConv2d', 'KWConv2d'])
@pytest.mark.parametrize('deformable', [False, True])
def test_dynamic_conv_cuda_matches_cpu(name, deformable):
    """The dynamic convs (plain, and through mmcv's deformable kernel grouped over the batch) on CUDA."""
    from mmext.ops import DynamicDeformConv2d, ODConv2d
    torch.manual_seed(0)
    if name == 'ODConv2d':
        holder = torch.nn.Module()
        holder.conv = ODConv2d(16, 32, 3, padding=1, kernel_num=4)
    else:
        holder = _kw_holder()
    if deformable:
        holder.conv = DynamicDeformConv2d(holder.conv)
        torch.nn.init.normal_(holder.conv.conv_offset.weight, std=0.05)
    holder.eval()
    x = torch.randn(3, 16, 12, 12)
    with torch.no_grad():
        out_cpu = holder.conv(x)
        out_cuda = _to_cuda_copy(holder).conv(x.cuda())
    torch.testing.assert_close(out_cuda.cpu(), out_cpu, rtol=1e-4, atol=1e-4)
