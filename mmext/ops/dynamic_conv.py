"""Shared pieces of the per-sample (dynamic) convolutions: the batched convolution and the attention norm.

ODConv ("Omni-Dimensional Dynamic Convolution", ICLR 2022, arXiv 2209.07947) and KernelWarehouse
("KernelWarehouse: Rethinking the Design of Dynamic Convolution", ICML 2024, arXiv 2406.07879) both assemble one
kernel per sample and convolve each sample with its own kernel. :func:`dynamic_conv2d` does that convolution:

* default: the batch is folded into the groups of one ``F.conv2d`` call (``groups = B * groups``);
* ONNX export / tracing: an im2col (``F.unfold``) + batched matmul formulation, so the batch size is not frozen
  into the ``group`` attribute of an ONNX ``Conv`` node (onnx/onnx#3843);
* deformable: with ``offset`` (and ``mask``) given, mmcv's modulated deformable convolution runs grouped over the
  batch (``groups = B * groups``, ``deform_groups = B * deform_groups``).
"""
from typing import Optional, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

__all__ = ['dynamic_conv2d', 'AttentionBatchNorm1d', 'AttentionBatchNorm2d', 'build_attention_norm']

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
