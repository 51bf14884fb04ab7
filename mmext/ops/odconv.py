"""ODConv: Omni-Dimensional Dynamic Convolution.

Chao Li, Aojun Zhou, Anbang Yao. "Omni-Dimensional Dynamic Convolution", ICLR 2022, arXiv 2209.07947.

``y = (sum_i a_wi * a_fi * a_ci * a_si * W_i) * x`` with four attentions computed from a shared
pool -> 1x1 conv -> norm -> ReLU trunk: ``a_c`` over input channels, ``a_f`` over output channels, ``a_s`` over the
k x k positions and ``a_w`` over the K kernels. As in the released code, ``a_c`` is applied to the input and
``a_f`` to the output (both equivalent to scaling the kernel), so the per-sample kernel is only
``a_s * sum_i a_wi W_i``; it is assembled with one ``[B, K] x [K, out*in*k*k]`` matmul and a broadcast multiply,
never through a ``[B, K, out, in, k, k]`` temporary.
"""
import math
from typing import Optional, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from .dynamic_conv import build_attention_norm, dynamic_conv2d
from .temperature_check import TemperatureScheduleCheck

__all__ = ['ODConvAttention', 'ODConv2d']


class _MixKernels(torch.autograd.Function):
    """``a_s * (a_w @ W)``: ``[B, K]``, ``[B, k*k]``, ``[K, out, in, k, k]`` -> ``[B, out, in, k, k]``.

    Autograd would save the ``[B, out, in, k, k]`` mixture for the gradient of ``a_s``; here only the inputs are
    saved and the mixture is recomputed in backward (one extra ``[B, K] x [K, N]`` matmul), so the saved memory of
    the kernel assembly is that of the attentions.
    """

    @staticmethod
    def forward(ctx, ka: Tensor, sa: Tensor, weight: Tensor) -> Tensor:  # type: ignore[override]
        ctx.save_for_backward(ka, sa, weight)
        k2 = sa.shape[1]
        mix = torch.mm(ka, weight.reshape(weight.shape[0], -1)).reshape(ka.shape[0], -1, k2)
        return (mix * sa.unsqueeze(1)).reshape(ka.shape[0], *weight.shape[1:])

    @staticmethod
    def backward(ctx, grad: Tensor):  # type: ignore[override]
        ka, sa, weight = ctx.saved_tensors
        b, k2 = sa.shape
        w2 = weight.reshape(weight.shape[0], -1)
        grad = grad.reshape(b, -1, k2)
        grad_sa = None
        if ctx.needs_input_grad[1]:
            grad_sa = (grad * torch.mm(ka, w2).reshape(b, -1, k2)).sum(1)
        grad_mix = (grad * sa.unsqueeze(1)).reshape(b, -1)
        grad_ka = torch.mm(grad_mix, w2.t()) if ctx.needs_input_grad[0] else None
        grad_w = torch.mm(ka.t(), grad_mix).reshape(weight.shape) if ctx.needs_input_grad[2] else None
        return grad_ka, grad_sa, grad_w


class ODConvAttention(nn.Module):
    """The four ODConv attentions from one shared trunk.

    Args:
        in_channels (int): Input channels of the conv.
        out_channels (int): Output channels of the conv.
        kernel_size (int): Square kernel size k.
        groups (int): Conv groups. ``in == groups == out`` is depthwise: no filter attention.
        reduction (float): Hidden width ratio (of ``in_channels``, as released). Defaults to 1/16.
        kernel_num (int): Number of kernels K; K=1 has no kernel attention. Defaults to 4.
        min_channels (int): Minimum hidden width. Defaults to 16.
        norm (str): Trunk norm, ``'BN'`` (batch-1 safe), ``'LN'`` is not available for the 4D trunk, or
            ``'none'``. Defaults to ``'BN'``.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_size: int,
                 groups: int = 1,
                 reduction: float = 0.0625,
                 kernel_num: int = 4,
                 min_channels: int = 16,
                 norm: str = 'BN') -> None:
        super().__init__()
        hidden = max(int(in_channels * reduction), min_channels)
        self.kernel_size = kernel_size
        self.kernel_num = kernel_num
        self.fc = nn.Conv2d(in_channels, hidden, 1, bias=False)
        self.bn = build_attention_norm(norm, hidden, dim=2)
        self.relu = nn.ReLU(inplace=True)
        self.channel_fc = nn.Conv2d(hidden, in_channels, 1, bias=True)
        self.depthwise = in_channels == groups == out_channels
        self.filter_fc = None if self.depthwise else nn.Conv2d(hidden, out_channels, 1, bias=True)
        self.spatial_fc = None if kernel_size == 1 else nn.Conv2d(hidden, kernel_size * kernel_size, 1, bias=True)
        self.kernel_fc = None if kernel_num == 1 else nn.Conv2d(hidden, kernel_num, 1, bias=True)
        # the softmax/sigmoid temperature: annealed 30 -> 1 by ODConvTemperatureHook, 1 at inference
        self.register_buffer('temperature', torch.tensor(1.0), persistent=False)
        self.init_weights()

    def init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tuple[Tensor, Optional[Tensor], Optional[Tensor], Optional[Tensor]]:
        """Return ``(a_c [B,in,1,1], a_f [B,out,1,1] | None, a_s [B,k,k] | None, a_w [B,K] | None)``."""
        t = self.temperature
        z = self.relu(self.bn(self.fc(F.adaptive_avg_pool2d(x, 1))))
        ca = torch.sigmoid(self.channel_fc(z) / t)
        fa = None if self.filter_fc is None else torch.sigmoid(self.filter_fc(z) / t)
        sa = None
        if self.spatial_fc is not None:
            sa = torch.sigmoid(self.spatial_fc(z) / t).reshape(x.shape[0], self.kernel_size, self.kernel_size)
        ka = None if self.kernel_fc is None else torch.softmax(self.kernel_fc(z).flatten(1) / t, dim=1)
        return ca, fa, sa, ka


class ODConv2d(TemperatureScheduleCheck, nn.Module):
    """Omni-dimensional dynamic 2D convolution (no bias, as released).

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        kernel_size (int): Square kernel size.
        stride, padding, dilation: As ``nn.Conv2d``. Defaults to 1, 0, 1.
        groups (int): Conv groups (``in == groups == out``: depthwise). Defaults to 1.
        reduction (float): Attention hidden ratio. Defaults to 0.0625.
        kernel_num (int): K, the number of kernels. Defaults to 4.
        min_channels (int): Minimum attention width. Defaults to 16.
        norm (str): Attention trunk norm, ``'BN'`` or ``'none'``. Defaults to ``'BN'``.
        weight_init (str): Init of each of the K kernels: ``'kaiming_fan_out'`` (normal, fan-out, ReLU gain: the
            released code's) or ``'pytorch'`` (``nn.Conv2d``'s default, kaiming-uniform with a = sqrt(5) on the
            kernel's own fan-in). Defaults to ``'kaiming_fan_out'``.

    The parameter ``weight`` has shape ``[K, out, in/groups, k, k]`` and the attention lives in ``attention``,
    the key layout of the released checkpoints. For ``k == 1`` and ``K == 1`` the conv is static with input and
    output gating. ``forward`` takes optional deformable ``offset``/``mask`` (see
    :class:`~mmext.ops.DynamicDeformConv2d`).
    """

    WEIGHT_INITS = ('kaiming_fan_out', 'pytorch')
    temperature_hook = 'ODConvTemperatureHook'
    temperature_desc = 'the attention temperature (30 -> 1 over 10 epochs in the paper)'

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_size: int,
                 stride: Union[int, Tuple[int, int]] = 1,
                 padding: Union[int, Tuple[int, int]] = 0,
                 dilation: Union[int, Tuple[int, int]] = 1,
                 groups: int = 1,
                 reduction: float = 0.0625,
                 kernel_num: int = 4,
                 min_channels: int = 16,
                 norm: str = 'BN',
                 weight_init: str = 'kaiming_fan_out') -> None:
        super().__init__()
        if weight_init not in self.WEIGHT_INITS:
            raise ValueError(f'ODConv2d: weight_init must be one of {self.WEIGHT_INITS}, got {weight_init!r}')
        self.weight_init = weight_init
        if not isinstance(kernel_size, int) or kernel_size < 1:
            raise ValueError(f'ODConv2d: kernel_size must be a positive int (square kernels), got {kernel_size!r}')
        if kernel_num < 1:
            raise ValueError(f'ODConv2d: kernel_num must be >= 1, got {kernel_num}')
        if in_channels % groups or out_channels % groups:
            raise ValueError(f'ODConv2d: in_channels ({in_channels}) and out_channels ({out_channels}) must be '
                             f'divisible by groups ({groups})')
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation, self.groups, self.kernel_num = dilation, groups, kernel_num
        self.attention = ODConvAttention(in_channels, out_channels, kernel_size, groups, reduction, kernel_num,
                                         min_channels, norm)
        self.weight = nn.Parameter(torch.empty(kernel_num, out_channels, in_channels // groups, kernel_size,
                                               kernel_size))
        self.init_weights()

    def init_weights(self) -> None:
        for i in range(self.kernel_num):
            if self.weight_init == 'pytorch':
                nn.init.kaiming_uniform_(self.weight.data[i], a=math.sqrt(5))
            else:
                nn.init.kaiming_normal_(self.weight.data[i], mode='fan_out', nonlinearity='relu')

    def update_temperature(self, temperature: float) -> None:
        """Set the attention temperature (1 at inference)."""
        self.attention.temperature.fill_(float(temperature))
        self._mark_temperature_scheduled()

    def dynamic_weight(self, sa: Optional[Tensor], ka: Optional[Tensor], batch: int) -> Tensor:
        """Per-sample kernel ``[B, out, in/g, k, k] = a_s * sum_i a_wi W_i``.

        The kernel mixture is one ``[B, K] x [K, out*in/g*k*k]`` matmul on the contiguous parameter, then the
        spatial attention is a broadcast multiply (:class:`_MixKernels`), so no ``[B, K, out, in, k, k]`` temporary
        exists, nothing is permuted or copied, and only the small attentions are saved for backward (the mixture is
        recomputed there).
        """
        shape = (batch, *self.weight.shape[1:])
        if ka is None:
            w = self.weight[0].unsqueeze(0)
            return w.expand(shape) if sa is None else w * sa.reshape(batch, 1, 1, *self.weight.shape[-2:])
        if sa is None:
            return torch.mm(ka, self.weight.reshape(self.kernel_num, -1)).reshape(shape)
        return _MixKernels.apply(ka, sa.reshape(batch, -1), self.weight)

    def forward(self, x: Tensor, offset: Optional[Tensor] = None, mask: Optional[Tensor] = None,
                deform_groups: int = 1) -> Tensor:
        self._check_temperature_schedule()
        ca, fa, sa, ka = self.attention(x)
        x = x * ca
        if sa is None and ka is None and offset is None:
            out = F.conv2d(x, self.weight[0], None, self.stride, self.padding, self.dilation, self.groups)
        else:
            weight = self.dynamic_weight(sa, ka, x.shape[0])
            out = dynamic_conv2d(x, weight, None, self.stride, self.padding, self.dilation, self.groups, offset,
                                 mask, deform_groups)
        return out if fa is None else out * fa

    def extra_repr(self) -> str:
        return (f'{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, '
                f'padding={self.padding}, dilation={self.dilation}, groups={self.groups}, '
                f'kernel_num={self.kernel_num}')
