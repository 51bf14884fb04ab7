"""FLOPs of models with dynamic convolutions (ODConv, KernelWarehouse), on top of mmengine's jit-based counter.

mmengine's ``FlopAnalyzer`` (one FLOP = one multiply-add, elementwise ops not counted) traces the model. Inside a
dynamic layer that trace is wrong: under tracing the layers take their export path, whose im2col convolution
(:func:`~mmext.ops.dynamic_conv.dynamic_conv2d`) with a one-hot kernel is counted as if it were compute, and the
layers' fast paths (per-shape formulations, an autograd ``Function`` that recomputes the kernel) are not what the
trace sees. So :func:`count_flops` keeps the trace for everything else (including each layer's attention branch, a plain
submodule) and replaces the trace of every ``ODConv2d`` / ``KWConv2d`` / ``KWLinear`` body by counts from the
shapes seen in one ordinary forward:

* ``conv``: the convolution with the per-sample kernel, ``B * out * in/groups * kh * kw * H_out * W_out``
  (``KWLinear``: ``B * tokens * in * out``);
* ``mixing``: assembling the per-sample kernels, ODConv ``B * K * N`` for the ``[B, K] x [K, N]`` matmul (K > 1)
  plus ``B * N`` for the spatial attention's scaling (k > 1), with ``N = out * in/groups * k * k``; KernelWarehouse
  ``B * m * n * cell`` for the ``[B*m, n] x [n, cell]`` matmul (m mixtures, n cells of ``cell`` values each);
* ``attention``: the traced FLOPs of the layer's ``attention`` submodule.
"""
from collections import OrderedDict
from typing import Dict, Tuple

import torch
import torch.nn as nn

from ..ops.kernel_warehouse import KWConv2d, KWLayerBase, KWLinear
from ..ops.odconv import ODConv2d

__all__ = ['count_flops', 'dynamic_layer_flops']


def _prod(shape) -> int:
    out = 1
    for s in shape:
        out *= int(s)
    return out


def _od_counts(m: ODConv2d, x: torch.Tensor, y: torch.Tensor) -> Tuple[int, int]:
    b = int(x.shape[0])
    n = m.out_channels * (m.in_channels // m.groups) * m.kernel_size * m.kernel_size
    conv = b * n * _prod(y.shape[2:])
    mixing = 0
    if m.kernel_num > 1:
        mixing += b * m.kernel_num * n
    if m.kernel_size > 1:
        mixing += b * n
    return conv, mixing


def _kw_counts(m: KWLayerBase, x: torch.Tensor, y: torch.Tensor) -> Tuple[int, int]:
    b = int(x.shape[0])
    cells = m._manager[0].weights[m.warehouse_id]
    mixing = b * m.num_mixtures * int(cells.shape[0]) * _prod(cells.shape[1:])
    if isinstance(m, KWLinear):
        tokens = _prod(x.shape[1:-1]) if x.dim() > 2 else 1
        conv = b * tokens * m.in_channels * m.out_channels
    else:
        conv = b * m.out_channels * (m.in_channels // m.groups) * _prod(m.kernel_size) * _prod(y.shape[2:])
    return conv, mixing


def dynamic_layer_flops(model: nn.Module, inputs: Tuple) -> Dict[str, Dict[str, int]]:
    """``{layer name: {'conv': ..., 'mixing': ...}}`` for every dynamic layer, from one eval forward of ``model``."""
    names = {m: n for n, m in model.named_modules() if isinstance(m, (ODConv2d, KWConv2d, KWLinear))}
    counts: Dict[str, Dict[str, int]] = OrderedDict()

    def hook(m, args, out):
        conv, mixing = (_od_counts if isinstance(m, ODConv2d) else _kw_counts)(m, args[0], out)
        c = counts.setdefault(names[m], dict(conv=0, mixing=0))
        c['conv'] += conv
        c['mixing'] += mixing

    handles = [m.register_forward_hook(hook) for m in names]
    try:
        with torch.no_grad():
            model(*inputs)
    finally:
        for h in handles:
            h.remove()
    return counts


def count_flops(model: nn.Module, inputs: Tuple) -> Dict[str, object]:
    """Total FLOPs with the dynamic layers counted correctly, and their share.

    Returns:
        dict: ``flops`` (corrected total), ``flops_traced`` (mmengine's trace alone), ``params``, and
        ``dynamic`` = ``dict(layers, conv, mixing, attention)`` summed over the dynamic layers (zeros without any).
    """
    from mmengine.analysis import FlopAnalyzer, parameter_count
    model.eval()
    per_layer = dynamic_layer_flops(model, inputs)
    analyzer = FlopAnalyzer(model, inputs)
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    traced_total = analyzer.total()
    by_module = analyzer.by_module()
    conv = sum(c['conv'] for c in per_layer.values())
    mixing = sum(c['mixing'] for c in per_layer.values())
    attention = sum(by_module.get(f'{name}.attention', 0) for name in per_layer)
    traced_dynamic = sum(by_module.get(name, 0) for name in per_layer)
    total = traced_total - traced_dynamic + attention + conv + mixing
    return dict(flops=total, flops_traced=traced_total, params=parameter_count(model)[''],
                dynamic=dict(layers=len(per_layer), conv=conv, mixing=mixing, attention=attention))
