"""The analysis tools' numbers: dynamic-conv FLOPs (per-sample conv, kernel mixing, attention) and the CPU peak
memory of a call."""
import re

import torch
import torch.nn as nn
from mmengine.analysis import FlopAnalyzer

from mmext.ops import ODConv2d, WarehouseManager
from mmext.utils import measure
from mmext.utils.benchmark import CPU_PEAK_WHAT
from mmext.utils.flops import count_flops
from tests.conftest import run_tool


def test_odconv_flops_conv_mixing_attention():
    net = nn.Sequential(ODConv2d(8, 16, 3, padding=1, kernel_num=4))
    x = torch.randn(2, 8, 16, 16)
    res = count_flops(net, (x, ))
    n = 16 * 8 * 3 * 3
    # the per-sample conv has the MACs mmengine counts for a static conv of that shape
    assert res['dynamic']['conv'] == FlopAnalyzer(nn.Conv2d(8, 16, 3, padding=1), (x, )).total() == 2 * n * 256
    assert res['dynamic']['mixing'] == 2 * 4 * n + 2 * n  # [B,K]x[K,N] matmul + spatial-attention scaling
    attention = FlopAnalyzer(net[0].attention, (x, )).total()
    assert attention > 0 and res['dynamic']['attention'] == attention
    assert res['flops'] == res['dynamic']['conv'] + res['dynamic']['mixing'] + attention
    assert res['flops_traced'] != res['flops']  # the trace alone misses the mixing and counts im2col


def test_kernelwarehouse_flops():

    class Net(nn.Module):

        def __init__(self):
            super().__init__()
            self.warehouse_manager = WarehouseManager(cell_num_ratio=1)
            self.kw = self.warehouse_manager.reserve(8, 8, 3, padding=1, warehouse_name='stage0_layer0_conv0')
            self.warehouse_manager.store()
            self.warehouse_manager.allocate(self)

        def forward(self, x):
            return self.kw(x)

    net = Net()
    x = torch.randn(2, 8, 8, 8)
    res = count_flops(net, (x, ))
    cells = net.warehouse_manager.weights[0]
    assert res['dynamic']['conv'] == 2 * 8 * 8 * 9 * 64
    assert res['dynamic']['mixing'] == 2 * net.kw.num_mixtures * cells.shape[0] * cells[0].numel()
    assert res['flops'] == sum(res['dynamic'][k] for k in ('conv', 'mixing', 'attention'))


def test_cpu_peak_memory_sees_a_reused_allocation():
    # 64 MiB allocated and freed in every call: the process's lifetime peak RSS no longer grows after the warmup,
    # the sampled peak of the call itself does see it
    stats = measure(lambda: torch.ones(16 * 2**20).add_(1).sum(), warmup=2, iters=2, device='cpu')
    assert stats['peak_mem_what'] == CPU_PEAK_WHAT
    assert 60 <= stats['peak_mem_mib'] < 200


def test_get_flops_tool_reports_dynamic_share():
    out = run_tool(['tools/analysis_tools/get_flops.py', 'configs/odconv/od-resnet18-4x-c32_1xb32-8e_shapes-cls.py',
                    '--shape', '3', '32', '32']).stdout
    assert re.search(r'dynamic conv layers: 16; their flops: per-sample conv \S+ \(\d+\), kernel mixing \S+ '
                     r'\(\d+\), attention', out), out
