"""ODConv: Omni-Dimensional Dynamic Convolution.

Chao Li, Aojun Zhou, Anbang Yao. "Omni-Dimensional Dynamic Convolution", ICLR 2022, arXiv 2209.07947.

``y = (sum_i a_wi * a_fi * a_ci * a_si * W_i) * x`` with four attentions computed from a shared
pool -> 1x1 conv -> norm -> ReLU trunk: ``a_c`` over input channels, ``a_f`` over output channels, ``a_s`` over the
k x k positions and ``a_w`` over the K kernels. The four attention heads run as one matmul.

The same product is evaluated in the cheapest exact order per layer shape (:meth:`ODConv2d.plan`):

* ``'kernel'``: the per-sample kernel ``a_s * (a_w @ W)`` is assembled with one ``[B, K] x [K, out*in*k*k]``
  matmul and convolved (:func:`~mmext.ops.dynamic_conv.per_sample_conv2d`: plain conv at batch 1, recomputed
  in backward in training); ``a_c`` / ``a_f`` are folded into that kernel where the kernel is smaller than the
  feature map they would scale, else applied to the input / output (as in the released code);
* ``'kbranch'``: where a sample has few output positions and a per-sample kernel would cost more memory traffic
  than the convolution, none is built: the K shared kernels are applied to the ``a_s``-scaled im2col columns in
  one matmul (``[K*out, in*k*k] x [in*k*k, L]``) and the K results are mixed with ``a_w``. In training (and at
  inference with batch > 1) this is taken where its extra multiply-adds are few (ResNet-50 at 224: the 7x7 stage
  for K = 4, 7x7 and 14x14 for K = 1), since there a per-sample kernel costs a grouped convolution plus its
  recomputation in backward; at batch-1 inference, where the per-sample kernel is one plain convolution on a
  kept buffer, only for K = 1 with at most :attr:`ODConv2d.KBRANCH_MAX_POSITIONS_INFER` positions, where the
  im2col matmul beats the library convolution and no kernel is written at all;
* ``'static'``: k = 1 and K = 1 with both gates on the activations: one ordinary conv.
"""
import math
from typing import Optional, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from .dynamic_conv import _export_mode, build_attention_norm, conv_out_size, dynamic_conv2d, per_sample_conv2d
from .kernel_scratch import derived_cache_key, kernel_scratch
from .temperature_check import TemperatureScheduleCheck

__all__ = ['ODConvAttention', 'ODConv2d']


def _scale(x: Tensor, factor: Tensor, out: Optional[Tensor]) -> Tensor:
    """``x * factor`` (broadcast to ``out``'s shape), written into ``out`` when one is given."""
    return x * factor if out is None else torch.mul(x, factor, out=out)


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
        self._heads_cache: Optional[Tuple] = None
        self._trunk_cache: Optional[Tuple] = None
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

    def heads(self) -> Tuple[Tensor, Tensor]:
        """Weights ``[in + out + k*k + K, hidden]`` and biases of the present heads, stacked in that order.

        Without autograd the stacked copy is reused until a head parameter changes (its storage or version).
        """
        fcs = [fc for fc in (self.channel_fc, self.filter_fc, self.spatial_fc, self.kernel_fc) if fc is not None]
        if len(fcs) == 1:
            return fcs[0].weight.flatten(1), fcs[0].bias
        key = derived_cache_key([p for fc in fcs for p in (fc.weight, fc.bias)])
        if key is not None and self._heads_cache is not None and self._heads_cache[0] == key:
            return self._heads_cache[1], self._heads_cache[2]
        weight, bias = torch.cat([fc.weight.flatten(1) for fc in fcs]), torch.cat([fc.bias for fc in fcs])
        self._heads_cache = (key, weight, bias) if key is not None else None
        return weight, bias

    def _folded_trunk(self) -> Optional[Tuple[Tensor, Tensor]]:
        """``(weight, bias)`` of ``bn(fc(.))`` folded into one linear map, in eval mode without autograd; else None.

        BN with running statistics is affine at inference: ``W' = W * s``, ``b' = beta - mean * s`` with
        ``s = gamma / sqrt(var + eps)``. Kept until the fc or BN tensors change (storage or version).
        """
        bn = self.bn
        if self.training or not isinstance(bn, nn.BatchNorm2d) or not bn.affine or bn.running_mean is None:
            return None
        key = derived_cache_key((self.fc.weight, bn.weight, bn.bias, bn.running_mean, bn.running_var))
        if key is None:
            return None
        if self._trunk_cache is None or self._trunk_cache[0] != key:
            scale = bn.weight * torch.rsqrt(bn.running_var + bn.eps)
            self._trunk_cache = (key, self.fc.weight.flatten(1) * scale[:, None], bn.bias - bn.running_mean * scale)
        return self._trunk_cache[1], self._trunk_cache[2]

    def forward(self, x: Tensor) -> Tuple[Tensor, Optional[Tensor], Optional[Tensor], Optional[Tensor]]:
        """Return ``(a_c [B, in], a_f [B, out] | None, a_s [B, k*k] | None, a_w [B, K] | None)``.

        The four heads (1x1 convs on the pooled trunk) are one ``addmm`` on the stacked head weights, followed by
        one sigmoid over the channel/filter/spatial logits and a softmax over the kernel logits.
        """
        b = x.shape[0]
        folded = self._folded_trunk()
        if folded is not None:  # eval without autograd: fc and BN as one addmm
            z = torch.addmm(folded[1], x.mean(dim=(2, 3)), folded[0].t()).relu_()
        else:
            z = F.linear(x.mean(dim=(2, 3)), self.fc.weight.flatten(1))
            z = self.relu(self.bn(z.reshape(b, -1, 1, 1))).reshape(b, -1)
        weight, bias = self.heads()
        logits = torch.addmm(bias, z, weight.t()) / self.temperature
        n_in = self.channel_fc.out_channels
        n_out = 0 if self.filter_fc is None else self.filter_fc.out_channels
        n_sp = 0 if self.spatial_fc is None else self.kernel_size * self.kernel_size
        n_sig = n_in + n_out + n_sp
        sig = torch.sigmoid(logits if self.kernel_fc is None else logits[:, :n_sig])
        fa = sig[:, n_in:n_in + n_out] if n_out else None
        sa = sig[:, n_in + n_out:n_sig] if n_sp else None
        ka = None if self.kernel_fc is None else torch.softmax(logits[:, n_sig:], dim=1)
        return sig[:, :n_in], fa, sa, ka


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

    #: which of ``assemble``'s tensors ``(weight, ka, sa, ca, fa)`` are per sample (chunked by per_sample_conv2d)
    _BATCHED = (False, True, True, True, True)
    #: ``'kbranch'`` is chosen when its extra multiply-adds, ``(K - 1) * L`` per kernel value (L output positions
    #: per sample), cost less than the per-sample kernel's memory passes, counted as this many multiply-adds.
    KBRANCH_MAX_EXTRA_MACS = 256
    #: batch-1 inference: K-branch only for K = 1 and at most this many output positions (7x7 at 224 px).
    KBRANCH_MAX_POSITIONS_INFER = 64

    def plan(self, x: Tensor) -> Tuple[str, bool, bool]:
        """``(formulation, fold a_c into the kernel, fold a_f into the kernel)`` for input ``x`` (module doc)."""
        h, w = x.shape[-2:]
        k, s, p, d = self.kernel_size, self.stride, self.padding, self.dilation
        s, p, d = (v if isinstance(v, int) else v[0] for v in (s, p, d))
        positions = conv_out_size(int(h), k, s, p, d) * conv_out_size(int(w), k, s, p, d)
        n = self.out_channels * (self.in_channels // self.groups) * k * k
        square = all(isinstance(v, int) or v[0] == v[1] for v in (self.stride, self.padding, self.dilation))
        if x.shape[0] == 1 and not torch.is_grad_enabled():  # batch-1 inference (measured, module doc)
            kbranch = self.kernel_num == 1 and positions <= self.KBRANCH_MAX_POSITIONS_INFER
        else:
            kbranch = (self.kernel_num - 1) * positions <= self.KBRANCH_MAX_EXTRA_MACS
        if (self.kernel_num > 1 or k > 1) and self.groups == 1 and square and kbranch and \
                n > self.in_channels * h * w:
            return 'kbranch', False, False
        fold_ca = n <= self.in_channels * h * w
        fold_fa = not self.attention.depthwise and n <= self.out_channels * positions
        if self.kernel_num == 1 and k == 1 and not (fold_ca or fold_fa):
            return 'static', False, False
        return 'kernel', fold_ca, fold_fa

    def _channel_gate(self, ca: Tensor) -> Tensor:
        """``a_c`` in the kernel's layout ``[B, out or 1, in/g]``: input channel of ``weight[o, j]`` per group."""
        b, g = ca.shape[0], self.groups
        if g == 1:
            return ca.reshape(b, 1, -1)
        cin_g, out_g = self.in_channels // g, self.out_channels // g
        return ca.reshape(b, g, 1, cin_g).expand(b, g, out_g, cin_g).reshape(b, self.out_channels, cin_g)

    def assemble(self, weight: Tensor, ka: Optional[Tensor], sa: Optional[Tensor], ca: Optional[Tensor],
                 fa: Optional[Tensor]) -> Tensor:
        """Per-sample kernels ``[B, out, in/g, k, k] = fa * ca * sa * (ka @ W)`` (absent factors are 1).

        One ``[B, K] x [K, out*in/g*k*k]`` matmul on the contiguous parameter and broadcast multiplies: no
        ``[B, K, out, in, k, k]`` temporary exists and nothing is permuted.
        """
        present = [t for t in (ka, sa, ca, fa) if t is not None]
        b = present[0].shape[0]
        k2 = self.kernel_size * self.kernel_size
        kn, out_c, cin_g = weight.shape[:3]
        # inference inside per_sample_conv2d: every step writes into one kept buffer (see kernel_scratch)
        out = kernel_scratch((b, out_c, cin_g, k2), weight)
        if ka is None:
            mix = weight.reshape(1, out_c, cin_g, k2)
        elif out is None:
            mix = torch.mm(ka, weight.reshape(kn, -1)).reshape(b, out_c, cin_g, k2)
        else:
            mix = torch.mm(ka, weight.reshape(kn, -1), out=out.view(b, -1)).view(b, out_c, cin_g, k2)
        gate = None
        if ca is not None:
            gate = self._channel_gate(ca)
        if fa is not None:
            gate = fa.reshape(b, -1, 1) if gate is None else gate * fa.reshape(b, -1, 1)
        if sa is not None:
            mix = _scale(mix, sa.reshape(b, 1, 1, k2), out)
        if gate is not None:
            mix = _scale(mix, gate.unsqueeze(-1), out)
        return mix.expand(b, out_c, cin_g, k2).reshape(b, out_c, cin_g, self.kernel_size, self.kernel_size)

    def dynamic_weight(self, sa: Optional[Tensor], ka: Optional[Tensor], batch: int) -> Tensor:
        """Per-sample kernel ``[B, out, in/g, k, k] = a_s * sum_i a_wi W_i`` (the released layout's kernel)."""
        if sa is None and ka is None:
            return self.weight[0].unsqueeze(0).expand(batch, *self.weight.shape[1:])
        return self.assemble(self.weight, ka, sa, None, None)

    def _kbranch(self, x: Tensor, sa: Optional[Tensor], ka: Optional[Tensor]) -> Tensor:
        """``sum_i a_wi (W_i * (a_s . cols))``: the K shared kernels on the spatially scaled im2col columns.

        One ``[K*out, in*k*k] x [in*k*k, B*L]`` matmul for the whole batch; the columns are written once, already
        scaled and in the matmul's layout.
        """
        b, c = x.shape[:2]
        k, kn, out_c = self.kernel_size, self.kernel_num, self.out_channels
        stride, padding, dilation = (v if isinstance(v, int) else v[0] for v in (self.stride, self.padding,
                                                                                   self.dilation))
        h_out = conv_out_size(x.shape[2], k, stride, padding, dilation)
        w_out = conv_out_size(x.shape[3], k, stride, padding, dilation)
        if k == 1:
            cols = (x if stride == 1 else x[:, :, ::stride, ::stride]).reshape(b, c, 1, -1)
        else:
            cols = F.unfold(x, k, dilation, padding, stride).reshape(b, c, k * k, -1)
        cols = cols.permute(1, 2, 0, 3)  # [in, k*k, B, L]
        cols = cols * sa.t().reshape(1, k * k, b, 1) if sa is not None else cols.contiguous()
        y = torch.mm(self.weight.reshape(kn * out_c, -1), cols.reshape(c * k * k, -1))  # [K*out, B*L]
        y = y.reshape(kn, out_c, b, -1)
        y = (y * ka.t().reshape(kn, 1, b, 1)).sum(0) if ka is not None else y[0]
        return y.permute(1, 0, 2).reshape(b, out_c, h_out, w_out)

    def forward(self, x: Tensor, offset: Optional[Tensor] = None, mask: Optional[Tensor] = None,
                deform_groups: int = 1) -> Tensor:
        self._check_temperature_schedule()
        ca, fa, sa, ka = self.attention(x)
        b = x.shape[0]
        if offset is not None or _export_mode():  # the released order: gate the input, conv, gate the output
            x = x * ca.reshape(b, -1, 1, 1)
            if sa is None and ka is None and offset is None:
                out = F.conv2d(x, self.weight[0], None, self.stride, self.padding, self.dilation, self.groups)
            else:
                out = dynamic_conv2d(x, self.dynamic_weight(sa, ka, b), None, self.stride, self.padding,
                                     self.dilation, self.groups, offset, mask, deform_groups)
            return out if fa is None else out * fa.reshape(b, -1, 1, 1)
        mode, fold_ca, fold_fa = self.plan(x)
        if not fold_ca:
            x = x * ca.reshape(b, -1, 1, 1)
        if mode == 'static' or (mode == 'kernel' and ka is None and sa is None and not (fold_ca or fold_fa)):
            out = F.conv2d(x, self.weight[0], None, self.stride, self.padding, self.dilation, self.groups)
        elif mode == 'kbranch':
            out = self._kbranch(x, sa, ka)
        else:
            tensors = (self.weight, ka, sa, ca if fold_ca else None, fa if fold_fa else None)
            out = per_sample_conv2d(x, self.assemble, tensors, (b, *self.weight.shape[1:]), self.stride,
                                    self.padding, self.dilation, self.groups, batched=self._BATCHED)
        return out if fa is None or fold_fa else out * fa.reshape(b, -1, 1, 1)

    def extra_repr(self) -> str:
        return (f'{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, '
                f'padding={self.padding}, dilation={self.dilation}, groups={self.groups}, '
                f'kernel_num={self.kernel_num}')
