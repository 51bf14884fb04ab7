"""Shared pieces of the per-sample (dynamic) convolutions: the batched convolution and the attention norm.

ODConv ("Omni-Dimensional Dynamic Convolution", ICLR 2022, arXiv 2209.07947) and KernelWarehouse
("KernelWarehouse: Rethinking the Design of Dynamic Convolution", ICML 2024, arXiv 2406.07879) both assemble one
kernel per sample and convolve each sample with its own kernel. :func:`dynamic_conv2d` does that convolution:

* default: the batch is folded into the groups of one ``F.conv2d`` call (``groups = B * groups``);
* ONNX export / tracing: an im2col (``F.unfold``) + batched matmul formulation, so the batch size is not frozen
  into the ``group`` attribute of an ONNX ``Conv`` node (onnx/onnx#3843);
* deformable: with ``offset`` (and ``mask``) given, mmcv's modulated deformable convolution runs grouped over the
  batch (``groups = B * groups``, ``deform_groups = B * deform_groups``).

:func:`per_sample_conv2d` is the fast path the layers use outside export / deformable mode. It takes the kernel
*assembly* (a function of small tensors: attentions and the shared weights) instead of the kernel, and

* picks the convolution per shape (:func:`conv_formulation`): batch 1 -> one plain ``F.conv2d``; a 1x1 kernel ->
  one ``bmm`` over the batch; few output positions (the 7x7 / 14x14 stages) -> im2col + ``bmm`` (the per-sample
  kernel is used in its own layout, no per-call reorder into the conv library's blocked layout); otherwise the
  batch folded into the groups of one ``F.conv2d``;
* in training, saves only the input and the assembly's inputs: the ``[B, out, in, k, k]`` per-sample kernel is
  recomputed in backward (:class:`_RecomputedKernelConv`), so the saved memory is that of a static conv plus the
  attentions;
* with ``batched`` given (the layers do), assembles and convolves the batch in chunks of samples whose kernels
  fit :data:`KERNEL_CHUNK_BYTES`, so the transient kernel memory does not grow with the batch.
"""
from typing import Callable, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from .kernel_scratch import kernel_scratch_scope

__all__ = [
    'dynamic_conv2d', 'per_sample_conv2d', 'conv_formulation', 'conv_out_size', 'KERNEL_CHUNK_BYTES',
    'AttentionBatchNorm1d',
    'AttentionBatchNorm2d', 'build_attention_norm'
]

_Pair = Union[int, Tuple[int, int]]


def _pair(v: _Pair) -> Tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def _export_mode() -> bool:
    return bool(torch.onnx.is_in_onnx_export() or torch.jit.is_tracing())


def _unfold_conv2d(x: Tensor, weight: Tensor, stride, padding, dilation, groups: int) -> Tensor:
    """Per-sample convolution as im2col + batched matmul.

    The im2col is one convolution of ``x`` viewed as ``[B*C, 1, H, W]`` with a constant one-hot
    ``[kh*kw, 1, kh, kw]`` kernel, so an exported graph has a dynamic batch axis (no ``group = B`` attribute,
    no ``Im2Col`` op) and one node per layer instead of one slice per kernel tap.
    """
    # every size but the batch is a Python int, so a traced graph keeps only the batch axis symbolic
    h, w = int(x.shape[2]), int(x.shape[3])
    out_c, cin_g, kh, kw = (int(s) for s in weight.shape[1:])
    eye = torch.eye(kh * kw, dtype=x.dtype, device=x.device).reshape(kh * kw, 1, kh, kw)
    cols = F.conv2d(x.reshape(-1, 1, h, w), eye, None, stride, padding, dilation)  # [B*C, k*k, H', W']
    h_out, w_out = int(cols.shape[2]), int(cols.shape[3])
    cols = cols.reshape(-1, groups, cin_g * kh * kw, h_out * w_out)
    wmat = weight.reshape(-1, groups, out_c // groups, cin_g * kh * kw)
    out = torch.matmul(wmat, cols)  # [B, g, out/g, L]
    return out.reshape(-1, out_c, h_out, w_out)


def dynamic_conv2d(x: Tensor,
                   weight: Tensor,
                   bias: Optional[Tensor] = None,
                   stride: _Pair = 1,
                   padding: _Pair = 0,
                   dilation: _Pair = 1,
                   groups: int = 1,
                   offset: Optional[Tensor] = None,
                   mask: Optional[Tensor] = None,
                   deform_groups: int = 1) -> Tensor:
    """Convolve each sample of ``x`` with its own kernel.

    Args:
        x (Tensor): Input ``[B, C, H, W]``.
        weight (Tensor): Per-sample kernels ``[B, out, C / groups, kh, kw]``.
        bias (Tensor, optional): Shared bias ``[out]``. Defaults to None.
        stride, padding, dilation: As in ``F.conv2d``.
        groups (int): Groups of one sample's convolution. Defaults to 1.
        offset (Tensor, optional): Deformable offsets ``[B, deform_groups*2*kh*kw, H', W']``; when given, mmcv's
            modulated deformable convolution is used. Defaults to None.
        mask (Tensor, optional): Modulation ``[B, deform_groups*kh*kw, H', W']``; ones when ``offset`` is given
            without it (plain DCN). Defaults to None.
        deform_groups (int): Deformable groups of one sample. Defaults to 1.

    Returns:
        Tensor: ``[B, out, H', W']``.
    """
    if weight.dim() != 5 or weight.shape[0] != x.shape[0]:
        raise ValueError(f'dynamic_conv2d: weight must be [B, out, in/groups, kh, kw] with B={x.shape[0]}, '
                         f'got {tuple(weight.shape)}')
    stride, padding, dilation = _pair(stride), _pair(padding), _pair(dilation)
    b = x.shape[0]
    out_c = weight.shape[1]
    if offset is not None:
        from mmcv.ops import modulated_deform_conv2d
        kh, kw = weight.shape[-2:]
        if mask is None:
            mask = offset.new_ones(b, deform_groups * kh * kw, *offset.shape[2:])
        out = modulated_deform_conv2d(
            x.reshape(1, -1, *x.shape[2:]), offset.reshape(1, -1, *offset.shape[2:]),
            mask.reshape(1, -1, *mask.shape[2:]), weight.reshape(b * out_c, *weight.shape[2:]), None, stride,
            padding, dilation, groups * b, deform_groups * b)
        out = out.reshape(b, out_c, *out.shape[2:])
    elif _export_mode():
        out = _unfold_conv2d(x, weight, stride, padding, dilation, groups)
    else:
        out = F.conv2d(
            x.reshape(1, -1, *x.shape[2:]), weight.reshape(b * out_c, *weight.shape[2:]), None, stride, padding,
            dilation, groups * b)
        out = out.reshape(b, out_c, *out.shape[2:])
    if bias is not None:
        out = out + bias.reshape(1, -1, 1, 1)
    return out


#: im2col + bmm is used for per-sample kernels when a sample has at most this many output positions (measured on
#: a CPU: at 7x7 it beats the grouped conv by 2-3x, at 14x14 and above the grouped conv is faster).
UNFOLD_MAX_POSITIONS = 100


def conv_out_size(size: int, k: int, stride: int, padding: int, dilation: int) -> int:
    """Output length of a convolution along one axis."""
    return (size + 2 * padding - dilation * (k - 1) - 1) // stride + 1


def conv_formulation(batch: int, kernel_size: Tuple[int, int], groups: int, positions: int,
                     padding: Tuple[int, int]) -> str:
    """How :func:`per_sample_conv2d` convolves: ``'single'``, ``'bmm'``, ``'unfold'`` or ``'grouped'``.

    Args:
        batch (int): B.
        kernel_size (tuple): ``(kh, kw)``.
        groups (int): Groups of one sample's convolution.
        positions (int): Output positions of one sample, ``H_out * W_out``.
        padding (tuple): Padding (a padded 1x1 kernel is not a plain matmul).
    """
    if batch == 1:
        return 'single'
    if groups == 1 and tuple(kernel_size) == (1, 1) and tuple(padding) == (0, 0):
        return 'bmm'
    if groups == 1 and positions <= UNFOLD_MAX_POSITIONS:
        return 'unfold'
    return 'grouped'


class _ConvSpec:
    """Static arguments of one per-sample convolution (shapes, stride ..., the chosen formulation)."""

    def __init__(self, x: Tensor, weight_shape: Sequence[int], stride, padding, dilation, groups: int) -> None:
        self.stride, self.padding, self.dilation = _pair(stride), _pair(padding), _pair(dilation)
        self.groups = groups
        self.batch, self.in_channels, self.h, self.w = (int(s) for s in x.shape)
        self.out_channels = int(weight_shape[1])
        self.kernel_size = (int(weight_shape[3]), int(weight_shape[4]))
        self.h_out, self.w_out = (conv_out_size(n, k, s, p, d) for n, k, s, p, d in zip(
            (self.h, self.w), self.kernel_size, self.stride, self.padding, self.dilation))
        self.mode = conv_formulation(self.batch, self.kernel_size, groups, self.h_out * self.w_out, self.padding)

    def columns(self, x: Tensor) -> Tensor:
        """``[B, in * kh * kw, L]``: the im2col of ``x`` (``'unfold'``) or its strided positions (``'bmm'``)."""
        if self.mode == 'bmm':
            if self.stride != (1, 1):
                x = x[:, :, ::self.stride[0], ::self.stride[1]]
            return x.reshape(self.batch, self.in_channels, -1)
        return F.unfold(x, self.kernel_size, self.dilation, self.padding, self.stride)


def _per_sample_forward(x: Tensor, weight: Tensor, spec: _ConvSpec) -> Tensor:
    b, out_c = spec.batch, spec.out_channels
    if spec.mode == 'single':
        return F.conv2d(x, weight[0], None, spec.stride, spec.padding, spec.dilation, spec.groups)
    if spec.mode == 'grouped':
        out = F.conv2d(x.reshape(1, -1, spec.h, spec.w), weight.reshape(b * out_c, *weight.shape[2:]), None,
                       spec.stride, spec.padding, spec.dilation, spec.groups * b)
        return out.reshape(b, out_c, spec.h_out, spec.w_out)
    out = torch.bmm(weight.reshape(b, out_c, -1), spec.columns(x))
    return out.reshape(b, out_c, spec.h_out, spec.w_out)


def _per_sample_backward(grad: Tensor, x: Tensor, weight: Tensor, spec: _ConvSpec, need_x: bool,
                         need_w: bool) -> Tuple[Optional[Tensor], Optional[Tensor]]:
    """Gradients of :func:`_per_sample_forward` w.r.t. the input and the per-sample kernel."""
    b, out_c = spec.batch, spec.out_channels
    grad = grad.contiguous()
    if spec.mode in ('single', 'grouped'):
        g = spec.groups * (b if spec.mode == 'grouped' else 1)
        shape_x = x.shape if spec.mode == 'single' else (1, b * spec.in_channels, spec.h, spec.w)
        w = weight[0] if spec.mode == 'single' else weight.reshape(b * out_c, *weight.shape[2:])
        go = grad if spec.mode == 'single' else grad.reshape(1, b * out_c, spec.h_out, spec.w_out)
        gx, gw, _ = torch.ops.aten.convolution_backward(
            go, x.reshape(shape_x), w, None, list(spec.stride), list(spec.padding), list(spec.dilation), False,
            [0, 0], g, [need_x, need_w, False])
        return (gx.reshape(x.shape) if gx is not None else None,
                gw.reshape(weight.shape) if gw is not None else None)
    go = grad.reshape(b, out_c, -1)
    gx = gw = None
    if need_w:
        gw = torch.bmm(go, spec.columns(x).transpose(1, 2)).reshape(weight.shape)
    if need_x:
        gcols = torch.bmm(weight.reshape(b, out_c, -1).transpose(1, 2), go)
        if spec.mode == 'unfold':
            gx = F.fold(gcols, (spec.h, spec.w), spec.kernel_size, spec.dilation, spec.padding, spec.stride)
        elif spec.stride == (1, 1):
            gx = gcols.reshape(x.shape)
        else:
            gx = x.new_zeros(x.shape)
            gx[:, :, ::spec.stride[0], ::spec.stride[1]] = gcols.reshape(b, spec.in_channels, spec.h_out,
                                                                         spec.w_out)
    return gx, gw


#: Per-sample kernels of at most this many bytes are assembled at a time: a larger batch is convolved in chunks of
#: samples, so the ``[B, out, in, k, k]`` kernel (and in backward its gradient and the assembly's temporaries, about
#: four such tensors) never exists for the whole batch at once. KW-ResNet-50 1x train step, batch 8, 224 px, one
#: thread (2026-12-03, peak RSS above the step's start, glibc returning freed blocks): 969 MiB for the whole batch,
#: 892 MiB with 32 MiB chunks at 0-6 % more time, 850 MiB with 16 MiB chunks at 15-70 % more time (each chunk adds
#: a warehouse-sized gradient pass); the static ResNet-50 704 MiB.
KERNEL_CHUNK_BYTES = 32 * 2**20


def _chunks(batch: int, sample_bytes: int, batched: Optional[Sequence[bool]]) -> List[Tuple[int, int]]:
    """``[(start, end), ...]`` sample ranges whose kernels fit :data:`KERNEL_CHUNK_BYTES` (one range without
    ``batched``)."""
    if batched is None or batch == 1:
        return [(0, batch)]
    step = max(1, KERNEL_CHUNK_BYTES // max(sample_bytes, 1))
    return [(s, min(s + step, batch)) for s in range(0, batch, step)]


def _slice(tensors: Sequence[Optional[Tensor]], batched: Optional[Sequence[bool]], start: int,
           end: int) -> List[Optional[Tensor]]:
    if batched is None:
        return list(tensors)
    return [t[start:end] if t is not None and per else t for t, per in zip(tensors, batched)]


def _chunked_forward(x: Tensor, assemble: Callable[..., Tensor], tensors: Sequence[Optional[Tensor]],
                     specs: List[Tuple[int, int, '_ConvSpec']], batched: Optional[Sequence[bool]]) -> Tensor:
    if len(specs) == 1:
        return _per_sample_forward(x, assemble(*tensors), specs[0][2])
    return torch.cat([_per_sample_forward(x[s:e], assemble(*_slice(tensors, batched, s, e)), spec)
                      for s, e, spec in specs])


class _RecomputedKernelConv(torch.autograd.Function):
    """Per-sample convolution whose kernel is rebuilt in backward instead of being saved.

    ``forward(x, specs, batched, assemble, *tensors)`` convolves each sample with ``assemble(*tensors)[b]``, one
    chunk of samples at a time (``specs``: ``(start, end, spec)`` per chunk; ``batched`` marks the tensors whose
    first axis is the batch). Saved for backward: ``x`` and ``tensors`` (attentions and shared weights, all of
    which are alive anyway); backward re-runs ``assemble`` under autograd per chunk, takes the convolution's
    gradients and back-propagates the kernel gradient through the assembly. Exact (same operations as without
    recomputation); costs one extra kernel assembly per backward.
    """

    @staticmethod
    def forward(ctx, x: Tensor, specs: list, batched: Optional[Sequence[bool]],  # type: ignore[override]
                assemble: Callable[..., Tensor], *tensors: Optional[Tensor]) -> Tensor:
        with torch.no_grad():
            out = _chunked_forward(x, assemble, tensors, specs, batched)
        ctx.specs, ctx.batched, ctx.assemble = specs, batched, assemble
        device = x.device.type
        ctx.autocast = (device, torch.is_autocast_enabled(device), torch.get_autocast_dtype(device))
        ctx.save_for_backward(x, *tensors)
        return out

    @staticmethod
    def backward(ctx, grad: Tensor):  # type: ignore[override]
        x, *tensors = ctx.saved_tensors
        need = ctx.needs_input_grad[4:]
        device, autocast, dtype = ctx.autocast
        inputs = [t.detach().requires_grad_() if t is not None and n else t for t, n in zip(tensors, need)]
        wanted = [i for i, t in enumerate(inputs) if t is not None and need[i]]
        gxs = []
        for start, end, spec in ctx.specs:
            with torch.enable_grad(), torch.autocast(device, dtype=dtype, enabled=autocast):  # as in forward
                weight = ctx.assemble(*_slice(inputs, ctx.batched, start, end))
            # under autocast the forward convolved in grad's dtype: so does the library conv's backward (it
            # accumulates in float32 itself); the matmul formulations (whose col2im would sum in bfloat16) run in
            # the inputs' dtype
            dt = grad.dtype if spec.mode in ('single', 'grouped') else torch.promote_types(grad.dtype, x.dtype)
            gx, gw = _per_sample_backward(grad[start:end].to(dt), x[start:end].to(dt), weight.detach().to(dt), spec,
                                          ctx.needs_input_grad[0], any(need))
            gxs.append(None if gx is None else gx.to(x.dtype))
            if wanted and gw is not None and weight.requires_grad:
                torch.autograd.backward(weight, gw.to(weight.dtype), inputs=[inputs[i] for i in wanted])
        gx = None if gxs[0] is None else (gxs[0] if len(gxs) == 1 else torch.cat(gxs))
        grads: list = [None] * len(tensors)
        for i in wanted:
            grads[i] = inputs[i].grad
        return (gx, None, None, None, *grads)


def per_sample_conv2d(x: Tensor, assemble: Callable[..., Tensor], tensors: Sequence[Optional[Tensor]],
                      weight_shape: Sequence[int], stride: _Pair = 1, padding: _Pair = 0, dilation: _Pair = 1,
                      groups: int = 1, batched: Optional[Sequence[bool]] = None) -> Tensor:
    """Convolve sample ``b`` of ``x`` with ``assemble(*tensors)[b]``, choosing the formulation per shape.

    Args:
        x (Tensor): Input ``[B, C, H, W]``.
        assemble (callable): Builds the per-sample kernels ``[B, out, C / groups, kh, kw]`` from ``tensors``;
            it must be differentiable and free of side effects (it is run again in backward).
        tensors (sequence): The assembly's inputs (None allowed).
        weight_shape (sequence): ``(B, out, C / groups, kh, kw)``.
        stride, padding, dilation, groups: As in ``F.conv2d``.
        batched (sequence of bool, optional): Which ``tensors`` have the batch as their first axis. When given,
            the batch is convolved in chunks whose kernels fit :data:`KERNEL_CHUNK_BYTES` (``assemble`` then gets
            those tensors sliced to the chunk). Defaults to None (the whole batch at once).

    Returns:
        Tensor: ``[B, out, H', W']``.
    """
    tensors = tuple(tensors)
    if batched is not None and len(batched) != len(tensors):
        raise ValueError(f'per_sample_conv2d: batched needs one flag per tensor ({len(tensors)}), '
                         f'got {len(batched)}')
    sample_bytes = x.element_size()
    for d in weight_shape[1:]:
        sample_bytes *= int(d)
    specs = [(s, e, _ConvSpec(x[s:e], (e - s, *weight_shape[1:]), stride, padding, dilation, groups))
             for s, e in _chunks(x.shape[0], sample_bytes, batched)]
    needs_grad = torch.is_grad_enabled() and (x.requires_grad or any(
        t is not None and t.requires_grad for t in tensors))
    if not needs_grad:
        with kernel_scratch_scope():  # the kernel may live in a kept buffer: consumed before the scope ends
            return _chunked_forward(x, assemble, tensors, specs, batched)
    return _RecomputedKernelConv.apply(x, specs, batched, assemble, *tensors)


class _BatchSafeMixin:
    """BatchNorm that falls back to its running statistics when a training batch has one value per channel.

    The released ODConv/KernelWarehouse attentions use BatchNorm on pooled ``[B, A]`` features, which raises
    "Expected more than 1 value per channel when training" at batch size 1 (OSVAI/ODConv issues #5, #11, #23,
    #27, #35). Here such a batch is normalised with the running statistics (not updated); parameter and buffer
    names stay those of ``nn.BatchNorm1d/2d`` so released checkpoints load unchanged.
    """

    def forward(self, x: Tensor) -> Tensor:  # type: ignore[override]
        if self.training and x.numel() // x.shape[1] <= 1 and self.track_running_stats:
            return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0,
                                self.eps)
        return super().forward(x)  # type: ignore[misc]


class AttentionBatchNorm1d(_BatchSafeMixin, nn.BatchNorm1d):
    """``nn.BatchNorm1d`` that also trains at batch size 1 (see :class:`_BatchSafeMixin`)."""


class AttentionBatchNorm2d(_BatchSafeMixin, nn.BatchNorm2d):
    """``nn.BatchNorm2d`` that also trains at batch size 1 (see :class:`_BatchSafeMixin`)."""


def build_attention_norm(norm: str, channels: int, dim: int) -> nn.Module:
    """Norm of an attention trunk: ``'BN'`` (batch-1 safe BatchNorm), ``'LN'`` (LayerNorm) or ``'none'``.

    Args:
        norm (str): ``'BN'``, ``'LN'`` or ``'none'``.
        channels (int): Hidden channels.
        dim (int): 1 for ``[B, C]`` features, 2 for ``[B, C, 1, 1]``.
    """
    if norm == 'BN':
        return AttentionBatchNorm1d(channels) if dim == 1 else AttentionBatchNorm2d(channels)
    if norm == 'LN':
        if dim != 1:
            raise ValueError("build_attention_norm: norm='LN' needs dim=1 ([B, C] features)")
        return nn.LayerNorm(channels)
    if norm == 'none':
        return nn.Identity()
    raise ValueError(f"attention norm must be one of 'BN', 'LN', 'none', got {norm!r}")
