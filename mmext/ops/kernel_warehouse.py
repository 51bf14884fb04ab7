"""KernelWarehouse layers: the contrasting-driven attention, ``KWConv2d`` and ``KWLinear``.

Chao Li, Anbang Yao. "KernelWarehouse: Rethinking the Design of Dynamic Convolution", ICML 2024,
arXiv 2406.07879.

A layer's kernel is split into ``m`` cells of shape ``[c_out, c_in, 1, 1]`` (spatial partition: a 3x3 kernel has
9 spatial taps). Each cell is a mixture ``w_i = sum_j a_ij e_j`` of the ``n`` cells ``e_j`` of a warehouse shared by
the layers of a stage (see :class:`~mmext.ops.WarehouseManager`). The attention ``a`` is the contrasting-driven
attention function: ``a = (1 - tau) * z / (sum|z| + 1e-3) + tau * beta`` over ``n + 1`` entries per mixture (the
last one a "zero cell" that is dropped), where ``beta`` is the one-hot map of the cell each mixture owns. At
``tau = 1`` each layer is its own static conv; ``tau`` is annealed 1 -> 0 (``KWTemperatureHook``) and is 0 at
inference. Mixture index order is ``(s * g_out + o) * g_in + i`` (spatial tap s, out block o, in block i), as in
the released checkpoints.
"""
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from torch import Tensor

from .dynamic_conv import _export_mode, build_attention_norm, dynamic_conv2d, per_sample_conv2d
from .kernel_scratch import kernel_scratch
from .temperature_check import TemperatureScheduleCheck

__all__ = ['KWAttention', 'KWLayerBase', 'KWConv2d', 'KWLinear']


class KWAttention(nn.Module):
    """Contrasting-driven attention of one KernelWarehouse layer.

    Args:
        in_channels (int): Input channels of the layer.
        reduction (float): Hidden ratio; hidden = ``max(int(in * reduction), 16)``.
        num_cells (int): ``n``, cells in the layer's warehouse.
        num_mixtures (int): ``m``, cells the layer's kernel is split into.
        norm (str): ``'BN'`` (fc1 without bias, batch-1 safe BatchNorm1d) or ``'LN'`` (fc1 with bias).
        cell_num_ratio (float): ``b`` of the warehouse (sets the own-cell map and the local cells).
        nonlocal_basis_ratio (float): ``< 1`` enables the low-rank map of the cells owned by other layers
            (KW ResNet-50 1/2x uses 1/16). Defaults to 1.
        start_cell_idx (int): First warehouse cell owned by this layer.
    """

    def __init__(self, in_channels: int, reduction: float, num_cells: int, num_mixtures: int, norm: str = 'BN',
                 cell_num_ratio: float = 1.0, nonlocal_basis_ratio: float = 1.0, start_cell_idx: int = 0) -> None:
        super().__init__()
        hidden = max(int(in_channels * reduction), 16)
        self.num_cells, self.num_mixtures = num_cells, num_mixtures
        self.planes_per_mixture = num_cells + 1
        self.start_cell_idx = start_cell_idx
        self.fc1 = nn.Linear(in_channels, hidden, bias=norm != 'BN')
        self.norm1 = build_attention_norm(norm, hidden, dim=1)
        self.act1 = nn.ReLU(inplace=True)
        self.nonlocal_basis = nonlocal_basis_ratio < 1.0
        if not self.nonlocal_basis:
            self.fc2 = nn.Linear(hidden, num_mixtures * self.planes_per_mixture, bias=True)
        else:
            self.num_local_cells = int(cell_num_ratio * num_mixtures)
            self.num_nonlocal_cells = num_cells - self.num_local_cells
            self.num_basis = max(int(self.num_nonlocal_cells * nonlocal_basis_ratio), 16)
            self.fc2 = nn.Linear(hidden, (self.num_local_cells + self.num_basis + 1) * num_mixtures, bias=False)
            self.fc3 = nn.Linear(self.num_basis, self.num_nonlocal_cells, bias=False)
            self.basis_bias = nn.Parameter(torch.zeros(num_mixtures * self.planes_per_mixture))
        self.register_buffer('tau', torch.tensor(0.0), persistent=False)
        self.tau_value = 0.0  # the buffer's value as a Python float (set together by KWLayerBase.update_temperature)
        self.register_buffer('temp_bias', torch.zeros(num_mixtures, self.planes_per_mixture), persistent=False)
        self.end_cell_idx = self._init_own_cells(start_cell_idx, cell_num_ratio)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def _init_own_cells(self, start: int, ratio: float) -> int:
        """Fill the one-hot own-cell map; return the end of this layer's cell range."""
        if ratio >= 1.0:
            step = int(ratio)
            for idx in range(self.num_mixtures):
                self.temp_bias[idx, start] = 1.0
                start += step
            return start
        per_cell = int(round(1.0 / ratio))  # mixtures sharing one own cell; the others point at the zero cell
        if self.num_mixtures % per_cell:
            raise ValueError(f'KernelWarehouse: cell_num_ratio={ratio} needs each layer\'s number of cells '
                             f'({self.num_mixtures}) to be a multiple of {per_cell}')
        for idx in range(self.num_mixtures):
            if idx % per_cell == (idx // per_cell) % per_cell:
                self.temp_bias[idx, start] = 1.0
                start += 1
            else:
                self.temp_bias[idx, -1] = 1.0
        return start

    def _map_to_cells(self, z: Tensor) -> Tensor:
        """Low-rank variant: local cells direct, non-local cells through a basis (``fc3``)."""
        z = z.reshape(-1, self.num_local_cells + self.num_basis + 1)
        local, basis, zero = z[:, :self.num_local_cells], z[:, self.num_local_cells:-1], z[:, -1:]
        nonlocal_ = self.fc3(basis)
        s = self.start_cell_idx
        z = torch.cat([nonlocal_[:, :s], local, nonlocal_[:, s:], zero], dim=1)
        return z.reshape(-1, self.num_mixtures * self.planes_per_mixture) + self.basis_bias

    def forward(self, pooled: Tensor) -> Tensor:
        """``pooled [B, C]`` -> attention ``[B, m, n]`` (zero cell dropped)."""
        z = self.act1(self.norm1(self.fc1(pooled)))
        z = self.fc2(z)
        if self.nonlocal_basis:
            z = self._map_to_cells(z)
        z = z.reshape(-1, self.num_mixtures, self.planes_per_mixture)
        z = z / (z.abs().sum(dim=-1, keepdim=True) + 1e-3)
        if self.tau_value != 0.0:  # tau = 0 (inference) leaves z unchanged: skip the mix
            z = (1.0 - self.tau) * z + self.tau * self.temp_bias
        return z[..., :-1]


class KWLayerBase(TemperatureScheduleCheck, nn.Module):
    """Common part of the KernelWarehouse layers: attention, warehouse link and per-sample kernel assembly.

    A layer is created by :meth:`WarehouseManager.reserve` without weights; :meth:`WarehouseManager.allocate`
    gives it its cells and builds its attention. The manager is held in a plain list, so it is registered once,
    on the model (``warehouse_manager.weights.{i}``), as in the released checkpoints.
    """

    temperature_hook = 'KWTemperatureHook'
    temperature_desc = 'tau (1 -> 0 over 20 epochs in the paper)'

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Tuple[int, ...], groups: int, bias: bool,
                 warehouse_id: int, manager: nn.Module) -> None:
        super().__init__()
        if in_channels % groups or out_channels % groups:
            raise ValueError(f'{type(self).__name__}: in_channels ({in_channels}) and out_channels '
                             f'({out_channels}) must be divisible by groups ({groups})')
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.groups = tuple(kernel_size), groups
        self.warehouse_id = warehouse_id
        self._manager: List[nn.Module] = [manager]
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.attention: Optional[KWAttention] = None

    @property
    def weight_shape(self) -> List[int]:
        return [self.out_channels, self.in_channels // self.groups, *self.kernel_size]

    def init_attention(self, cell_shape: Sequence[int], start_cell_idx: int, reduction: float,
                       cell_num_ratio: float, norm: str, nonlocal_basis_ratio: float) -> int:
        """Build the attention for a warehouse of ``cell_shape = [n, c_out, c_in, 1...]``; return the end cell."""
        n, c_out, c_in = cell_shape[:3]
        self.cell_shape = tuple(cell_shape)
        self.g_out = self.out_channels // c_out
        self.g_in = self.in_channels // self.groups // c_in
        self.g_spatial = 1
        for k in self.kernel_size:
            self.g_spatial *= k
        self.num_mixtures = self.g_out * self.g_in * self.g_spatial
        self.attention = KWAttention(self.in_channels, reduction, n, self.num_mixtures, norm, cell_num_ratio,
                                     nonlocal_basis_ratio, start_cell_idx)
        return self.attention.end_cell_idx

    def update_temperature(self, tau: float) -> None:
        """Set tau of the attention (0 at inference)."""
        self.attention.tau.fill_(float(tau))
        self.attention.tau_value = float(tau)
        self._mark_temperature_scheduled()

    def cells(self) -> Tensor:
        """This layer's warehouse ``[n, c_out, c_in, 1...]`` (shared with the other layers of its warehouse)."""
        return self._manager[0].weights[self.warehouse_id]

    def assemble(self, att: Tensor, cells: Tensor) -> Tensor:
        """Per-sample kernels from the attention ``[B, m, n]``: one ``[B*m, n] x [n, c_out*c_in]`` matmul.

        At batch 1, when the cell is the whole ``[out, in]`` kernel plane (one mixture per spatial tap), the matmul
        is taken transposed, ``[c_out*c_in, n] x [n, taps]``, whose result is already ``[out, in, kh, kw]``: no
        permuting copy of the kernel. In eval mode without autograd on a CPU the cells are read from the manager's
        row-padded copy (:meth:`WarehouseManager.inference_cells`).
        """
        b = att.shape[0]
        c_out, c_in = self.cell_shape[1:3]
        # eval only: in training the copy would be rebuilt after every optimiser step and add to the peak memory
        flat = None if self.training or cells is not self.cells() else self._manager[0].inference_cells(
            self.warehouse_id)
        if flat is None:
            flat = cells.reshape(cells.shape[0], -1)
        if b == 1 and self.g_out == 1 and self.g_in == 1:
            # inference inside per_sample_conv2d writes into a kept buffer (see kernel_scratch)
            out = kernel_scratch((c_out * c_in, self.g_spatial), cells)
            w = torch.mm(flat.t(), att[0].t(), out=out) if out is not None else torch.mm(flat.t(), att[0].t())
            return w.reshape(1, *self.weight_shape)  # [c_out*c_in, taps] is [out, in, kh, kw]
        out = kernel_scratch((b * self.num_mixtures, flat.shape[1]), cells)
        att = att.reshape(b * self.num_mixtures, -1)
        w = torch.mm(att, flat, out=out) if out is not None else torch.mm(att, flat)  # [B*m, cell]
        w = w.reshape(b, self.g_spatial, self.g_out, self.g_in, c_out, c_in)
        w = w.permute(0, 2, 4, 3, 5, 1)  # [B, g_out, c_out, g_in, c_in, spatial]
        kernel = kernel_scratch(w.shape, cells, slot=1)
        if kernel is None or w.is_contiguous():
            return w.reshape(b, *self.weight_shape)
        return kernel.copy_(w).view(b, *self.weight_shape)

    def kernel_attention(self, pooled: Tensor) -> Tensor:
        """The attention ``[B, m, n]`` from pooled features ``[B, C]`` (checks that the layer has cells)."""
        self._check_temperature_schedule()
        if self.attention is None:
            raise RuntimeError(f'{type(self).__name__} has no cells: call WarehouseManager.store() and '
                               f'allocate(model) after building the model')
        return self.attention(pooled)

    def dynamic_weight(self, pooled: Tensor) -> Tensor:
        """Per-sample kernels ``[B, out, in/groups, *kernel_size]`` from pooled features ``[B, C]``."""
        return self.assemble(self.kernel_attention(pooled), self.cells())


class KWConv2d(KWLayerBase):
    """KernelWarehouse 2D convolution (created by :meth:`WarehouseManager.reserve`).

    Args:
        in_channels, out_channels (int): Channels.
        kernel_size (int | tuple): Kernel size.
        stride, padding, dilation: As ``nn.Conv2d``. Defaults to 1, 0, 1.
        groups (int): Conv groups. Defaults to 1.
        bias (bool): Learnable bias ``[out]``. Defaults to False.
        warehouse_id (int): Index of the layer's warehouse in the manager.
        manager (WarehouseManager): The manager holding the warehouse.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Union[int, Tuple[int, int]],
                 stride: Union[int, Tuple[int, int]] = 1, padding: Union[int, Tuple[int, int]] = 0,
                 dilation: Union[int, Tuple[int, int]] = 1, groups: int = 1, bias: bool = False,
                 warehouse_id: int = 0, manager: Optional[nn.Module] = None) -> None:
        ks = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
        super().__init__(in_channels, out_channels, ks, groups, bias, warehouse_id, manager)
        self.stride, self.padding, self.dilation = stride, padding, dilation

    def forward(self, x: Tensor, offset: Optional[Tensor] = None, mask: Optional[Tensor] = None,
                deform_groups: int = 1) -> Tensor:
        att = self.kernel_attention(x.mean(dim=(2, 3)))
        if offset is not None or _export_mode():
            return dynamic_conv2d(x, self.assemble(att, self.cells()), self.bias, self.stride, self.padding,
                                  self.dilation, self.groups, offset, mask, deform_groups)
        out = per_sample_conv2d(x, self.assemble, (att, self.cells()), (x.shape[0], *self.weight_shape),
                                self.stride, self.padding, self.dilation, self.groups, batched=(True, False))
        return out if self.bias is None else out + self.bias.reshape(1, -1, 1, 1)

    def extra_repr(self) -> str:
        return (f'{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, '
                f'padding={self.padding}, groups={self.groups}, warehouse_id={self.warehouse_id}')


class KWLinear(KWLayerBase):
    """KernelWarehouse linear layer on ``[B, ..., C]``; the attention pools over all but the first and last dims.

    Args:
        in_features, out_features (int): Features.
        bias (bool): Learnable bias. Defaults to True.
        warehouse_id (int): Index of the layer's warehouse in the manager.
        manager (WarehouseManager): The manager holding the warehouse.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, warehouse_id: int = 0,
                 manager: Optional[nn.Module] = None) -> None:
        super().__init__(in_features, out_features, (), 1, bias, warehouse_id, manager)

    def forward(self, x: Tensor) -> Tensor:
        shape = x.shape
        tokens = x.reshape(shape[0], -1, shape[-1])
        weight = self.dynamic_weight(tokens.mean(dim=1))  # [B, out, in]
        out = torch.bmm(tokens, weight.transpose(1, 2))
        if self.bias is not None:
            out = out + self.bias
        return out.reshape(*shape[:-1], self.out_channels)
