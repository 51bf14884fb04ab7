"""The kept kernel buffers of the dynamic convolutions' inference path (mmext.ops.kernel_scratch)."""
import pytest
import torch
import torch.nn as nn

from mmext.ops import ODConv2d, WarehouseManager
from mmext.ops.kernel_scratch import SCRATCH_MAX_BYTES, kernel_scratch, kernel_scratch_scope


def test_scratch_only_inside_the_scope_without_autograd():
    like = torch.empty(1)
    assert kernel_scratch((4, 5), like) is None  # outside the scope
    with kernel_scratch_scope():
        assert kernel_scratch((4, 5), like) is None  # autograd on
        with torch.no_grad():
            a = kernel_scratch((4, 5), like)
            b = kernel_scratch((2, 3), like)
            c = kernel_scratch((4, 5), like, slot=1)
            d = kernel_scratch((4, 5), like.double())
            assert a.shape == (4, 5) and a.is_contiguous() and b.shape == (2, 3)
            assert a.data_ptr() == b.data_ptr()  # one buffer per slot, reused
            assert c.data_ptr() != a.data_ptr() and d.dtype == torch.float64 and d.data_ptr() != a.data_ptr()
            too_big = SCRATCH_MAX_BYTES // like.element_size() + 1
            assert kernel_scratch((too_big, ), like) is None
        with torch.inference_mode():
            e = kernel_scratch((4, 5), like)
            assert e.is_inference() and e.data_ptr() != a.data_ptr()
            e.fill_(1.0)  # writable in inference mode
        with torch.no_grad():
            torch.mm(torch.ones(4, 1), torch.ones(1, 5), out=kernel_scratch((4, 5), like))  # and this one outside
    with torch.no_grad():
        assert kernel_scratch((4, 5), like) is None  # scope left


class _Chain(nn.Module):
    """ODConv 4x / 1x and KW layers of different shapes one after another (they share the kept buffer)."""

    def __init__(self):
        super().__init__()
        wm = WarehouseManager(sharing_range=('layer', 'conv'))
        self.warehouse_manager = wm
        self.convs = nn.ModuleList([
            ODConv2d(8, 16, 3, 1, 1, kernel_num=4),
            wm.reserve(16, 16, 3, 1, 1, warehouse_name='stage0_layer0_conv0'),
            ODConv2d(16, 32, 1, kernel_num=4),
            wm.reserve(32, 16, 1, 1, 0, warehouse_name='stage0_layer0_conv1'),
            ODConv2d(16, 16, 3, 2, 1, kernel_num=1),
            ODConv2d(16, 16, 3, 1, 1, groups=16, kernel_num=4),
        ])
        wm.store()
        wm.allocate(self)


@pytest.mark.parametrize('batch', [1, 3])
@pytest.mark.parametrize('mode', ['no_grad', 'inference_mode'])
def test_outputs_stay_valid_and_equal_the_autograd_path(batch, mode):
    """Every layer's output under no_grad / inference_mode (kept buffers) equals the autograd path's (none), and
    no output is overwritten by the layers after it."""
    torch.manual_seed(0)
    model = _Chain().double().eval()
    x = torch.randn(batch, 8, 9, 9, dtype=torch.double)
    refs, h = [], x
    for conv in model.convs:  # autograd on: no scratch is ever handed out
        h = conv(h).detach()
        refs.append(h)
    ctx = torch.no_grad() if mode == 'no_grad' else torch.inference_mode()
    with ctx:
        outs, h = [], x
        for conv in model.convs:
            h = conv(h)
            outs.append(h)
        snapshot = [o.clone() for o in outs]
        model.convs[0](x)  # one more call that writes the buffers again
    for i, (got, kept, ref) in enumerate(zip(outs, snapshot, refs)):
        assert torch.equal(got, kept), f'output of layer {i} was overwritten'
        torch.testing.assert_close(got, ref, rtol=1e-10, atol=1e-12)


def test_batch1_inference_plan():
    """Batch-1 inference: K-branch only for K = 1 at <= 64 positions; per-sample kernel for K = 4 (measured)."""
    od4 = ODConv2d(512, 512, 3, 1, 1, kernel_num=4)
    od1 = ODConv2d(256, 256, 3, 1, 1, kernel_num=1)
    with torch.no_grad():
        assert od4.plan(torch.empty(1, 512, 7, 7)) == ('kernel', False, False)
        assert od1.plan(torch.empty(1, 256, 7, 7)) == ('kbranch', False, False)
        assert od1.plan(torch.empty(1, 256, 14, 14)) == ('kernel', False, False)
        assert od4.plan(torch.empty(2, 512, 7, 7)) == ('kbranch', False, False)  # batch > 1: the training rule
    assert od4.plan(torch.empty(1, 512, 7, 7)) == ('kbranch', False, False)  # autograd on: the training rule
