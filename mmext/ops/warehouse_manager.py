"""The KernelWarehouse manager: reserves layers, builds the shared warehouses and allocates cells.

Chao Li, Anbang Yao. "KernelWarehouse: Rethinking the Design of Dynamic Convolution", ICML 2024,
arXiv 2406.07879.

Lifecycle (as in the released code, so converted checkpoints keep warehouse indices and cell ranges):

1. a model calls :meth:`WarehouseManager.reserve` for each dynamic layer with a name ``stage{s}_layer{l}_conv{c}``;
   tokens starting with a ``sharing_range`` entry are replaced by it, so ``('layer', 'conv')`` maps every layer of a
   stage to the warehouse ``stage{s}_layer_conv`` (warehouse sharing). Backbones implement the "handover" by naming
   a stage's first conv and its strided downsample with the previous stage.
2. :meth:`store` computes, per warehouse, the cell shape ``[c_out, c_in, 1, 1]`` (gcd of the layers' out/in
   channels times ``cell_outplane_ratio`` / ``cell_inplane_ratio``) and ``n = int(b * sum of the layers' mixture
   counts)`` cells, ``b = cell_num_ratio``.
3. :meth:`allocate` walks ``model.modules()`` in order, gives each layer its ``[start, end)`` cells (kaiming
   fan-out init) and builds its attention; the cells must be covered exactly.
"""
import math
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from torch import Tensor

from .kernel_scratch import derived_cache_key
from .kernel_warehouse import KWConv2d, KWLayerBase, KWLinear

__all__ = ['WarehouseManager']

_Num = Union[float, Sequence[float]]


def _per_warehouse(value, n: int, name: str) -> list:
    if isinstance(value, (list, tuple)):
        if len(value) == 1:
            return list(value) * n
        if len(value) != n:
            raise ValueError(f'WarehouseManager: {name} must be a number or have one value per warehouse ({n}), '
                             f'got {len(value)} values')
        return list(value)
    return [value] * n


def _check_ratio(b: float) -> None:
    ok = (b >= 1 and float(b).is_integer()) or (0 < b < 1 and abs(1.0 / b - round(1.0 / b)) < 1e-6)
    if not ok:
        raise ValueError(f'WarehouseManager: cell_num_ratio must be an integer >= 1 or 1/integer '
                         f'(e.g. 1/4, 1/2, 1, 2, 4), got {b}')


class WarehouseManager(nn.Module):
    """Kernel warehouses of one network.

    Args:
        reduction (float | sequence): Attention hidden ratio. Defaults to 0.0625.
        cell_num_ratio (float | sequence): ``b``; n = b x the mixtures of the sharing layers. Defaults to 1.
        cell_inplane_ratio (float | sequence): Cell input channels / gcd of input channels. Defaults to 1.
        cell_outplane_ratio (float | sequence): Cell output channels / gcd of output channels. Defaults to 1.
        sharing_range (sequence[str] | str): Name tokens to merge, e.g. ``('layer', 'conv')``; a string is split at
            ``'_'`` (the released JSON configs pass ``"layer_conv"``). Defaults to ().
        nonlocal_basis_ratio (float): ``< 1`` enables the low-rank non-local attention. Defaults to 1.
        norm (str): Attention norm, ``'BN'`` or ``'LN'``. Defaults to ``'BN'``.
        cell_init (str): Init of each layer's own cells in :meth:`allocate`: ``'kaiming_fan_out'`` (the
            released code: kaiming-normal, fan-out, ReLU gain, on the layer's ``m`` cells stacked as
            ``[m * c_out, c_in]``) or ``'pytorch'`` (``nn.Conv2d``'s default on the layer's own
            kernel: uniform in ``+-1 / sqrt(fan_in)``, ``fan_in = in / groups * k_h * k_w``). Defaults to
            ``'kaiming_fan_out'``.

    The warehouse shapes given per-warehouse sequences follow the order of the first ``reserve`` of each
    warehouse. Cells are always spatially partitioned (1x1), as in every released configuration.
    """

    CELL_INITS = ('kaiming_fan_out', 'pytorch')
    #: Floats added to each cell row of the inference copy (:meth:`inference_cells`): one 64-byte cache line.
    INFERENCE_ROW_PAD = 16

    def __init__(self, reduction: _Num = 0.0625, cell_num_ratio: _Num = 1, cell_inplane_ratio: _Num = 1,
                 cell_outplane_ratio: _Num = 1, sharing_range: Union[str, Sequence[str]] = (),
                 nonlocal_basis_ratio: float = 1.0, norm: str = 'BN', cell_init: str = 'kaiming_fan_out') -> None:
        super().__init__()
        if cell_init not in self.CELL_INITS:
            raise ValueError(f'WarehouseManager: cell_init must be one of {self.CELL_INITS}, got {cell_init!r}')
        self.cell_init = cell_init
        if isinstance(sharing_range, str):
            sharing_range = tuple(s for s in sharing_range.split('_') if s)
        self.sharing_range = tuple(sharing_range)
        self.reduction, self.cell_num_ratio = reduction, cell_num_ratio
        self.cell_inplane_ratio, self.cell_outplane_ratio = cell_inplane_ratio, cell_outplane_ratio
        self.nonlocal_basis_ratio, self.norm = nonlocal_basis_ratio, norm
        if norm not in ('BN', 'LN'):
            raise ValueError(f"WarehouseManager: norm must be 'BN' or 'LN', got {norm!r}")
        self.warehouse_list: Dict[str, List[List[int]]] = {}
        self.weights = nn.ParameterList()
        self._stored = False
        self._inference_cells: Dict[int, Tuple[tuple, Tensor]] = {}

    def fuse_warehouse_name(self, name: str) -> str:
        """``stage1_layer2_conv0`` -> ``stage1_layer_conv`` for ``sharing_range=('layer', 'conv')``."""
        tokens = []
        for tok in name.split('_'):
            for share in self.sharing_range:
                if tok.startswith(share):
                    tok = share
            tokens.append(tok)
        return '_'.join(tokens)

    def reserve(self, in_channels: int, out_channels: int, kernel_size=1, stride=1, padding=0, dilation=1,
                groups: int = 1, bias: bool = True, warehouse_name: str = 'default', enabled: bool = True,
                layer_type: str = 'conv2d') -> nn.Module:
        """Create a weightless KW layer (or a plain ``nn.Conv2d``/``nn.Linear`` when ``enabled=False``)."""
        if self._stored:
            raise RuntimeError('WarehouseManager.reserve: the warehouses are already stored')
        if layer_type not in ('conv2d', 'linear'):
            raise ValueError(f"WarehouseManager.reserve: layer_type must be 'conv2d' or 'linear', got {layer_type!r}")
        if not enabled:
            if layer_type == 'linear':
                return nn.Linear(in_channels, out_channels, bias=bias)
            return nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias)
        fused = self.fuse_warehouse_name(warehouse_name)
        if fused not in self.warehouse_list:
            self.warehouse_list[fused] = []
        wid = list(self.warehouse_list).index(fused)
        if layer_type == 'linear':
            layer = KWLinear(in_channels, out_channels, bias, wid, self)
        else:
            layer = KWConv2d(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, wid,
                             self)
        shapes = self.warehouse_list[fused]
        if shapes and len(shapes[0]) != len(layer.weight_shape):
            raise ValueError(f'WarehouseManager.reserve: warehouse {fused!r} mixes layer types')
        shapes.append(layer.weight_shape)
        return layer

    def store(self) -> None:
        """Create the warehouses (``self.weights[i]``: ``[n_i, c_out, c_in, 1, ...]``)."""
        names = list(self.warehouse_list)
        k = len(names)
        self._reduction = _per_warehouse(self.reduction, k, 'reduction')
        self._ratio = _per_warehouse(self.cell_num_ratio, k, 'cell_num_ratio')
        in_r = _per_warehouse(self.cell_inplane_ratio, k, 'cell_inplane_ratio')
        out_r = _per_warehouse(self.cell_outplane_ratio, k, 'cell_outplane_ratio')
        for b in self._ratio:
            _check_ratio(b)
        for idx, name in enumerate(names):
            shapes = self.warehouse_list[name]
            gcd_out, gcd_in = 0, 0
            for s in shapes:
                gcd_out, gcd_in = math.gcd(gcd_out, s[0]), math.gcd(gcd_in, s[1])
            c_in = max(int(gcd_in * in_r[idx]), 1)
            c_out = max(int(gcd_out * out_r[idx]), 1)
            mixtures = 0
            for s in shapes:
                if s[0] % c_out or s[1] % c_in:
                    raise ValueError(f'WarehouseManager: cell [{c_out}, {c_in}] does not divide layer {s} of '
                                     f'warehouse {name!r}; check cell_inplane_ratio / cell_outplane_ratio')
                mixtures += (s[0] // c_out) * (s[1] // c_in) * math.prod(s[2:])
            n = max(int(mixtures * self._ratio[idx]), 1)
            spatial = [1] * (len(shapes[0]) - 2)
            self.weights.append(nn.Parameter(torch.randn(n, c_out, c_in, *spatial)))
        self._stored = True

    def allocate(self, network: nn.Module) -> None:
        """Give every KW layer of ``network`` (in ``modules()`` order) its cells and attention."""
        if not self._stored:
            raise RuntimeError('WarehouseManager.allocate: call store() first')
        ends = [0] * len(self.weights)
        for layer in network.modules():
            if not isinstance(layer, KWLayerBase) or layer._manager[0] is not self:
                continue
            wid = layer.warehouse_id
            start = ends[wid]
            end = layer.init_attention(self.weights[wid].shape, start, self._reduction[wid], self._ratio[wid],
                                       self.norm, self.nonlocal_basis_ratio)
            cells = self.weights[wid].data[start:end]
            if self.cell_init == 'pytorch':
                bound = 1.0 / math.sqrt(math.prod(layer.weight_shape[1:]))
                nn.init.uniform_(cells, -bound, bound)
            else:
                nn.init.kaiming_normal_(cells.reshape(-1, *cells.shape[2:]), mode='fan_out', nonlinearity='relu')
            ends[wid] = end
        for wid, end in enumerate(ends):
            if end != self.weights[wid].shape[0]:
                raise RuntimeError(f'WarehouseManager.allocate: warehouse {wid} has {self.weights[wid].shape[0]} '
                                   f'cells but its layers own {end}; were all reserved layers added to the model?')

    def inference_cells(self, wid: int) -> Optional[Tensor]:
        """Warehouse ``wid`` as ``[n, cell]`` with a padded row stride, for CPU inference; None where not used.

        A cell row of ``c_out * c_in`` floats is a multiple of 4 KiB for the power-of-two channel counts of every
        released network, so the ``n`` rows that the assembly matmul reads together fall on the same cache sets.
        Read from a copy whose rows are one cache line longer (:data:`INFERENCE_ROW_PAD`), the KW-ResNet-50 1x
        batch-1 forward took 234-273 ms against 282-304 ms (three interleaved A/B runs, one thread, 2026-12-03;
        a pad of 1, 64 or 128 floats gave no gain). The copy costs the warehouse's memory once more; it is made
        on first use by a layer in eval mode without autograd on a CPU and rebuilt when the parameter changes
        (storage or version); training never uses it.
        Returns None with autograd on, off the CPU, or when the row is not a multiple of 4 KiB.
        """
        cells = self.weights[wid]
        row = cells[0].numel()
        if cells.device.type != 'cpu' or (row * cells.element_size()) % 4096:
            return None
        key = derived_cache_key((cells, ))
        if key is None:
            return None
        kept = self._inference_cells.get(wid)
        if kept is None or kept[0] != key:
            buf = torch.empty(cells.shape[0], row + self.INFERENCE_ROW_PAD, dtype=cells.dtype)[:, :row]
            kept = (key, buf.copy_(cells.detach().reshape(cells.shape[0], row)))
            self._inference_cells[wid] = kept
        return kept[1]

    def layers(self, network: nn.Module) -> List[KWLayerBase]:
        """The KW layers of ``network`` that use this manager, in ``modules()`` order."""
        return [m for m in network.modules() if isinstance(m, KWLayerBase) and m._manager[0] is self]
