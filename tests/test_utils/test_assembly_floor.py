"""mmext.utils.assembly_floor: the bytes a dynamic layer's kernel assembly must read, and the floor built on them."""
import pytest
import torch
import torch.nn as nn

from mmext.ops import ODConv2d, WarehouseManager
from mmext.utils.assembly_floor import assembly_floor_ms, assembly_reads, read_bandwidth_gbps


class _Net(nn.Module):
    """Two KW layers sharing one warehouse, an ODConv 4x and an ODConv 1x layer."""

    def __init__(self) -> None:
        super().__init__()
        self.warehouse_manager = WarehouseManager(cell_num_ratio=1, sharing_range=('layer', 'conv'))
        self.kw1 = self.warehouse_manager.reserve(8, 8, 3, 1, 1, bias=False, warehouse_name='stage0_layer0_conv0')
        self.kw2 = self.warehouse_manager.reserve(8, 8, 1, bias=False, warehouse_name='stage0_layer1_conv0')
        self.od4 = ODConv2d(8, 8, 3, padding=1, kernel_num=4)
        self.od1 = ODConv2d(8, 8, 3, padding=1, kernel_num=1)

    def forward(self, x):
        return self.od1(self.od4(self.kw2(self.kw1(x))))


def _net():
    net = _Net()
    net.warehouse_manager.store()
    net.warehouse_manager.allocate(net)
    for layer in net.warehouse_manager.layers(net):
        layer.update_temperature(0.0)
    for m in (net.od4, net.od1):
        m.update_temperature(1.0)
    return net.eval()


def test_reads_per_layer_call():
    net = _net()
    x = torch.randn(1, 8, 5, 5)
    reads = assembly_reads(net, lambda: net(x))
    assert len(net.warehouse_manager.weights) == 1
    shared = net.warehouse_manager.weights[0].numel() * 4  # (9 + 1) cells of 8 x 8
    assert shared == 10 * 8 * 8 * 4
    # each KW layer reads the whole shared warehouse; ODConv 4x its 4 kernels; ODConv 1x nothing
    assert reads == [shared, shared, 4 * 8 * 8 * 9 * 4]
    assert not any(h for m in net.modules() for h in m._forward_pre_hooks.values())  # hooks removed


def test_floor_is_reads_over_bandwidth():
    net = _net()
    x = torch.randn(1, 8, 5, 5)
    r = assembly_floor_ms(net, lambda: net(x), stream_bytes=1 << 22)
    assert r['layers'] == 3
    assert r['read_mb'] == pytest.approx(sum(assembly_reads(net, lambda: net(x))) / 1e6)
    assert r['floor_ms'] > 0 and r['median_gbps'] > 0 and r['stream_gbps'] > 0
    assert r['stream_floor_ms'] == pytest.approx(r['read_mb'] * 1e6 / (r['stream_gbps'] * 1e9) * 1e3)
    assert read_bandwidth_gbps(1 << 20) > 0
