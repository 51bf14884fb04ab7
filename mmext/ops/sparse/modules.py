"""Sparse 3D convolution modules with mmcv 2.x's interface and weight layout, on either backend.

``SubMConv3d``-style names are mmcv's; mmext's classes carry an ``Sp`` prefix so they never shadow mmcv's registered
ones. A model built from these runs mmcv's CUDA kernels on a GPU and the pure-PyTorch rulebook path on a CPU with
one state dict (``weight`` ``[kD, kH, kW, C_in, C_out]``, ``bias`` ``[C_out]``, mmcv's default initialisation).
"""
import math
from typing import Optional, Sequence, Union

import torch
from torch import nn

from .functional import BACKENDS, sparse_conv3d, sparse_max_pool3d
from .sparse_tensor import SparseTensor

__all__ = ['SpConvBase', 'SpSubMConv3d', 'SpConv3d', 'SpConvTranspose3d', 'SpInverseConv3d', 'SpMaxPool3d']

IntOr3 = Union[int, Sequence[int]]


def _triple(v: IntOr3, name: str) -> list:
    out = [int(x) for x in v] if isinstance(v, (list, tuple)) else [int(v)] * 3
    if len(out) != 3:
        raise ValueError(f'{name} must be an int or 3 ints, got {v!r}')
    return out


class SpConvBase(nn.Module):
    """Common part of the sparse convolutions (mmcv's ``SparseConvolution`` with ``ndim=3``).

    Args:
        in_channels (int), out_channels (int): channels.
        kernel_size, stride, padding, dilation, output_padding: int or 3 ints.
        bias (bool): Learn a bias. Defaults to True (as mmcv).
        subm (bool): Submanifold (outputs at the input sites only).
        transposed (bool): Transposed conv (generative: creates all children sites).
        inverse (bool): Inverse of the strided conv registered under ``indice_key`` (back onto its input sites).
        indice_key (str, optional): Share / reuse the rulebook under this key.
        backend (str): ``'auto'`` (mmcv on CUDA, PyTorch otherwise), ``'torch'`` or ``'mmcv'``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntOr3 = 3, stride: IntOr3 = 1,
                 padding: IntOr3 = 0, dilation: IntOr3 = 1, bias: bool = True, subm: bool = False,
                 transposed: bool = False, inverse: bool = False, output_padding: IntOr3 = 0,
                 indice_key: Optional[str] = None, backend: str = 'auto') -> None:
        super().__init__()
        if backend not in BACKENDS:
            raise ValueError(f'{type(self).__name__}: backend={backend!r}; expected one of {BACKENDS}')
        if inverse and indice_key is None:
            raise ValueError(f'{type(self).__name__}: an inverse conv needs the indice_key of its paired conv')
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = _triple(kernel_size, 'kernel_size')
        self.stride = _triple(stride, 'stride')
        self.padding = _triple(padding, 'padding')
        self.dilation = _triple(dilation, 'dilation')
        self.output_padding = _triple(output_padding, 'output_padding')
        self.subm, self.transposed, self.inverse = subm, transposed, inverse
        self.indice_key = indice_key
        self.backend = backend
        self.weight = nn.Parameter(torch.empty(*self.kernel_size, self.in_channels, self.out_channels))
        self.bias = nn.Parameter(torch.empty(self.out_channels)) if bias else None
        #: rulebook pairs of the last forward (FLOPs = 2 * pairs * C_in * C_out)
        self.last_num_pairs = 0
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """mmcv's initialisation: kaiming-uniform (a = sqrt(5)) and a fan-in bounded uniform bias."""
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.in_channels * int(torch.tensor(self.kernel_size).prod())
            bound = 1 / math.sqrt(fan_in)
            nn.init.uniform_(self.bias, -bound, bound)

    @property
    def last_flops(self) -> int:
        return 2 * self.last_num_pairs * self.in_channels * self.out_channels

    def forward(self, x: SparseTensor) -> SparseTensor:
        if not isinstance(x, SparseTensor):
            raise TypeError(f'{type(self).__name__} expects a SparseTensor, got {type(x).__name__}')
        out, self.last_num_pairs = sparse_conv3d(x, self.weight, self.bias, self.kernel_size, self.stride,
                                                 self.padding, self.dilation, self.subm, self.transposed,
                                                 self.inverse, self.output_padding, self.indice_key, self.backend)
        return out

    def extra_repr(self) -> str:
        kind = 'subm' if self.subm else 'inverse' if self.inverse else 'transposed' if self.transposed else 'conv'
        return (f'{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, '
                f'{kind}, indice_key={self.indice_key}, backend={self.backend}')


class SpSubMConv3d(SpConvBase):
    """Submanifold 3D conv (mmcv ``SubMConv3d``; SparseConvNet ``SubmanifoldConvolution``): outputs only at the
    active input sites, padding ``k // 2``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntOr3 = 3, dilation: IntOr3 = 1,
                 bias: bool = True, indice_key: Optional[str] = None, backend: str = 'auto') -> None:
        super().__init__(in_channels, out_channels, kernel_size, 1, 0, dilation, bias, subm=True,
                         indice_key=indice_key, backend=backend)


class SpConv3d(SpConvBase):
    """Strided sparse 3D conv (mmcv ``SparseConv3d``): an output is active when its window holds an active input."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntOr3 = 2, stride: IntOr3 = 2,
                 padding: IntOr3 = 0, dilation: IntOr3 = 1, bias: bool = True, indice_key: Optional[str] = None,
                 backend: str = 'auto') -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, bias,
                         indice_key=indice_key, backend=backend)


class SpConvTranspose3d(SpConvBase):
    """Transposed sparse 3D conv (mmcv ``SparseConvTranspose3d``); with ``k = s = 2`` every active site generates
    its 8 children (SparseConvNet ``FullConvolution``; ESSCNet's generative 'c' up-sampling)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntOr3 = 2, stride: IntOr3 = 2,
                 padding: IntOr3 = 0, dilation: IntOr3 = 1, output_padding: IntOr3 = 0, bias: bool = True,
                 indice_key: Optional[str] = None, backend: str = 'auto') -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, bias,
                         transposed=True, output_padding=output_padding, indice_key=indice_key, backend=backend)


class SpInverseConv3d(SpConvBase):
    """Inverse of the strided conv that ran under ``indice_key`` (mmcv ``SparseInverseConv3d``; SparseConvNet
    ``Deconvolution``): back onto exactly that conv's input sites. ``kernel_size`` must match the paired conv."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntOr3, indice_key: str,
                 bias: bool = True, backend: str = 'auto') -> None:
        super().__init__(in_channels, out_channels, kernel_size, 1, 0, 1, bias, transposed=True, inverse=True,
                         indice_key=indice_key, backend=backend)


class SpMaxPool3d(nn.Module):
    """Sparse 3D max-pool (mmcv ``SparseMaxPool3d``); the output is ``max(0, max over active inputs)`` as mmcv's."""

    def __init__(self, kernel_size: IntOr3 = 3, stride: IntOr3 = 2, padding: IntOr3 = 0, dilation: IntOr3 = 1,
                 backend: str = 'auto') -> None:
        super().__init__()
        if backend not in BACKENDS:
            raise ValueError(f'SpMaxPool3d: backend={backend!r}; expected one of {BACKENDS}')
        self.kernel_size = _triple(kernel_size, 'kernel_size')
        self.stride = _triple(stride, 'stride')
        self.padding = _triple(padding, 'padding')
        self.dilation = _triple(dilation, 'dilation')
        self.backend = backend

    def forward(self, x: SparseTensor) -> SparseTensor:
        return sparse_max_pool3d(x, self.kernel_size, self.stride, self.padding, self.dilation, self.backend)
