"""The two sparse-conv backends behind one call: mmcv 2.x's CUDA ops and a pure-PyTorch gather-GEMM-scatter.

``backend='auto'`` picks mmcv's ops when the features live on a CUDA device and mmcv's compiled sparse ops are
present, the PyTorch path otherwise (any device; it is the only one on CPU, where mmcv raises
"get_indice_pairs is not implemented on CPU"). Both use mmcv's weight layout ``[kD, kH, kW, C_in, C_out]`` and the
same kernel-offset order, so a state dict trained on one backend gives the same outputs on the other.
"""
import functools
from typing import List, Optional, Sequence, Tuple

import torch

from .rulebook import Rulebook, build_rulebook, conv_output_shape, deconv_output_shape
from .sparse_tensor import SparseTensor

__all__ = ['BACKENDS', 'mmcv_sparse_available', 'resolve_backend', 'gather_gemm_scatter', 'sparse_conv3d',
           'sparse_max_pool3d']

BACKENDS = ('auto', 'torch', 'mmcv')


@functools.lru_cache(maxsize=1)
def mmcv_sparse_available() -> bool:
    """Whether mmcv's compiled sparse-conv ops can be imported (they only run on CUDA tensors)."""
    try:
        from mmcv.ops import sparse_functional, sparse_ops  # noqa: F401
        return True
    except Exception:  # noqa: BLE001 - mmcv-lite or a broken build: fall back to the PyTorch path
        return False


def resolve_backend(backend: str, features: torch.Tensor) -> str:
    """``'torch'`` or ``'mmcv'`` for ``backend`` in :data:`BACKENDS` and the device of ``features``."""
    if backend not in BACKENDS:
        raise ValueError(f'sparse conv backend={backend!r}; expected one of {BACKENDS}')
    if backend == 'auto':
        return 'mmcv' if features.is_cuda and mmcv_sparse_available() else 'torch'
    if backend == 'mmcv':
        if not features.is_cuda:
            raise RuntimeError("sparse conv backend='mmcv' needs CUDA tensors (mmcv has no CPU sparse conv); "
                               "use backend='torch' or 'auto'")
        if not mmcv_sparse_available():
            raise RuntimeError("sparse conv backend='mmcv': mmcv.ops sparse ops are not importable "
                               '(mmcv-lite or a build without ops)')
    return backend


class _GatherGemmScatter(torch.autograd.Function):
    """``out[o] += x[i] @ W[k]`` over a rulebook's segments; backward recomputes the gathers (nothing of size
    ``pairs x C`` is kept between forward and backward, as spconv's native algorithm)."""

    @staticmethod
    def forward(ctx, features, weight, in_rows, out_rows, segments, identity, num_out):
        if identity is not None:  # submanifold centre: every site onto itself
            out = features @ weight[identity]
        else:
            out = features.new_zeros((num_out, weight.shape[-1]))
        if in_rows.numel():
            gathered = features.index_select(0, in_rows)
            prod = gathered.new_empty((in_rows.numel(), weight.shape[-1]))
            for s, n, k in segments:
                torch.mm(gathered[s:s + n], weight[k], out=prod[s:s + n])
            out.index_add_(0, out_rows, prod)
        ctx.save_for_backward(features, weight, in_rows, out_rows)
        ctx.segments, ctx.identity = segments, identity
        return out

    @staticmethod
    def backward(ctx, grad_out):
        features, weight, in_rows, out_rows = ctx.saved_tensors
        need_x, need_w = ctx.needs_input_grad[:2]
        grad_out = grad_out.contiguous()
        dx = dw = None
        if need_w:
            dw = torch.zeros_like(weight)
        if need_x:
            dx = grad_out @ weight[ctx.identity].t() if ctx.identity is not None else torch.zeros_like(features)
        if ctx.identity is not None and need_w:
            torch.mm(features.t(), grad_out, out=dw[ctx.identity])
        if in_rows.numel() and (need_x or need_w):
            g = grad_out.index_select(0, out_rows)
            if need_w:
                gathered = features.index_select(0, in_rows)
                for s, n, k in ctx.segments:
                    torch.mm(gathered[s:s + n].t(), g[s:s + n], out=dw[k])
            if need_x:
                dprod = g.new_empty((in_rows.numel(), weight.shape[-2]))
                for s, n, k in ctx.segments:
                    torch.mm(g[s:s + n], weight[k].t(), out=dprod[s:s + n])
                dx.index_add_(0, in_rows, dprod)
        return dx, dw, None, None, None, None, None


def gather_gemm_scatter(features: torch.Tensor, weight: torch.Tensor, rulebook: Rulebook,
                        num_out: Optional[int] = None) -> torch.Tensor:
    """``out[o] += features[i] @ weight[k]`` for every pair ``(i, o)`` of offset ``k`` (autograd-friendly).

    One gather of all pairs' inputs, one GEMM per non-empty offset, one scatter-add; a submanifold rulebook's
    centre offset is a plain matrix product.

    Args:
        features: ``[N, C_in]``. weight: ``[K, C_in, C_out]``. rulebook: from :func:`build_rulebook`.
        num_out: output rows (default: the rulebook's output sites).
    """
    if weight.dim() != 3 or weight.shape[0] != rulebook.kernel_volume:
        raise ValueError(f'gather_gemm_scatter: weight must be [K={rulebook.kernel_volume}, C_in, C_out], '
                         f'got {tuple(weight.shape)}')
    num_out = rulebook.out_indices.shape[0] if num_out is None else int(num_out)
    return _GatherGemmScatter.apply(features.contiguous(), weight.to(features.dtype).contiguous(),
                                    rulebook.in_rows, rulebook.out_rows, rulebook.segments,
                                    rulebook.identity_offset, num_out)


def _cache_get(x: SparseTensor, key: Optional[str], tag: str):
    if key is None or key not in x.indice_dict:
        return None
    got_tag, data = x.indice_dict[key]
    if got_tag != tag:
        raise RuntimeError(f'indice_key {key!r} holds a {got_tag!r} rulebook but the {tag!r} backend runs now; '
                           'do not mix backends inside one forward')
    return data


def _restricted(x: SparseTensor, rb: Rulebook, key: Optional[str], offset_mask: Sequence[bool]) -> Rulebook:
    """``rb`` limited to the offsets of ``offset_mask``, cached next to ``rb`` under ``key``."""
    mask = tuple(bool(m) for m in offset_mask)
    if key is None:
        return rb.restricted(mask)
    cache_key = (key, mask)
    got = x.indice_dict.get(cache_key)
    if got is None or got[1][0] is not rb:
        got = ('torch', (rb, rb.restricted(mask)))
        x.indice_dict[cache_key] = got
    return got[1][1]


def _torch_conv(x, weight, kernel, stride, padding, dilation, subm, transposed, inverse, output_padding, key,
                offset_mask=None):
    if inverse:
        rb = _cache_get(x, key, 'torch')
        if rb is None:
            raise KeyError(f'inverse sparse conv: no rulebook under indice_key={key!r}; the paired strided conv '
                           'must run first with the same indice_key')
        rb = rb.inverted()
        if rb.in_indices.shape[0] != x.indices.shape[0]:
            raise ValueError(f'inverse sparse conv (indice_key={key!r}): input has {x.indices.shape[0]} sites, '
                             f'the paired conv produced {rb.in_indices.shape[0]}')
    else:
        rb = _cache_get(x, key, 'torch')
        if rb is None or (subm and rb.out_indices.shape[0] != x.indices.shape[0]):
            rb = build_rulebook(x.indices, x.spatial_shape, kernel, stride, padding, dilation, subm, transposed,
                                output_padding)
            if key is not None:
                x.indice_dict[key] = ('torch', rb)
    if offset_mask is not None:
        rb = _restricted(x, rb, key, offset_mask)
    w = weight.reshape(-1, weight.shape[-2], weight.shape[-1])
    feats = gather_gemm_scatter(x.features, w, rb)
    return feats, rb.out_indices, rb.out_shape, rb.num_pairs()


def _mmcv_conv(x, weight, kernel, stride, padding, dilation, subm, transposed, inverse, output_padding, key,
               offset_mask=None):
    if offset_mask is not None:
        raise ValueError("sparse conv: offset_mask is only implemented by backend='torch' (SGC runs on mmcv's ops "
                         'through group_sparse_tensor)')
    from mmcv.ops import sparse_functional as Fsp
    from mmcv.ops import sparse_ops
    if inverse:
        data = _cache_get(x, key, 'mmcv')
        if data is None:
            raise KeyError(f'inverse sparse conv: no rulebook under indice_key={key!r}')
        outids, in_indices, pairs, pair_num, in_shape, _ = data
        feats = Fsp.indice_inverse_conv(x.features, weight, pairs, pair_num, in_indices.shape[0])
        return feats, in_indices, list(in_shape), int(pair_num.sum())
    data = _cache_get(x, key, 'mmcv')
    if data is None or (subm and data[0].shape[0] != x.indices.shape[0]):
        if subm:
            out_shape = list(x.spatial_shape)
        elif transposed:
            out_shape = deconv_output_shape(x.spatial_shape, kernel, stride, padding, dilation, output_padding)
        else:
            out_shape = conv_output_shape(x.spatial_shape, kernel, stride, padding, dilation)
        outids, pairs, pair_num = sparse_ops.get_indice_pairs(
            x.indices, x.batch_size, x.spatial_shape, list(kernel), list(stride), list(padding), list(dilation),
            list(output_padding), subm, transposed)
        data = (outids, x.indices, pairs, pair_num, list(x.spatial_shape), out_shape)
        if key is not None:
            x.indice_dict[key] = ('mmcv', data)
    outids, _, pairs, pair_num, _, out_shape = data
    fn = Fsp.indice_subm_conv if subm else Fsp.indice_conv
    feats = fn(x.features, weight, pairs.to(x.features.device), pair_num, outids.shape[0])
    return feats, outids, list(out_shape), int(pair_num.sum())


def sparse_conv3d(x: SparseTensor, weight: torch.Tensor, bias: Optional[torch.Tensor], kernel: List[int],
                  stride: List[int], padding: List[int], dilation: List[int], subm: bool = False,
                  transposed: bool = False, inverse: bool = False, output_padding: Optional[List[int]] = None,
                  indice_key: Optional[str] = None, backend: str = 'auto',
                  offset_mask: Optional[Sequence[bool]] = None) -> Tuple[SparseTensor, int]:
    """One sparse 3D convolution; returns the output tensor and its number of rulebook pairs.

    ``weight`` is ``[kD, kH, kW, C_in, C_out]`` (mmcv's layout). FLOPs = ``2 * pairs * C_in * C_out``.
    ``offset_mask`` (``K`` flags, ``backend='torch'`` only) drops the pairs of the unflagged kernel offsets
    (SGC's cross-group offsets); the restricted rulebook is cached next to the full one under ``indice_key``.
    """
    if offset_mask is not None and len(offset_mask) != int(torch.tensor(kernel).prod()):
        raise ValueError(f'sparse conv: offset_mask has {len(offset_mask)} flags for kernel {list(kernel)}')
    output_padding = output_padding or [0, 0, 0]
    if x.features.shape[1] != weight.shape[-2]:
        raise ValueError(f'sparse conv: input has {x.features.shape[1]} channels, weight expects {weight.shape[-2]}')
    if all(k == 1 for k in kernel) and not inverse and (subm or all(s == 1 for s in stride)) \
            and not any(padding):
        feats = x.features @ weight.reshape(weight.shape[-2], weight.shape[-1])  # 1x1x1: mmcv's conv1x1 shortcut
        out = SparseTensor(feats, x.indices, x.spatial_shape, x.batch_size, x.indice_dict)
        n_pairs = x.indices.shape[0]
    else:
        impl = _mmcv_conv if resolve_backend(backend, x.features) == 'mmcv' else _torch_conv
        feats, out_idx, out_shape, n_pairs = impl(x, weight, kernel, stride, padding, dilation, subm, transposed,
                                                  inverse, output_padding, indice_key, offset_mask)
        out = SparseTensor(feats, out_idx, out_shape, x.batch_size, x.indice_dict)
    if bias is not None:
        out.features = out.features + bias
    return out, n_pairs


def sparse_max_pool3d(x: SparseTensor, kernel: List[int], stride: List[int], padding: List[int],
                      dilation: List[int], backend: str = 'auto') -> SparseTensor:
    """Sparse max-pool over the active inputs of each output site.

    As mmcv's ``indice_maxpool`` (its output buffer starts at zero), the result is ``max(0, max of inputs)``.
    """
    if resolve_backend(backend, x.features) == 'mmcv':
        from mmcv.ops import sparse_functional as Fsp
        from mmcv.ops import sparse_ops
        out_shape = conv_output_shape(x.spatial_shape, kernel, stride, padding, dilation)
        outids, pairs, pair_num = sparse_ops.get_indice_pairs(x.indices, x.batch_size, x.spatial_shape, kernel,
                                                              stride, padding, dilation, 0, False)
        feats = Fsp.indice_maxpool(x.features, pairs.to(x.features.device), pair_num.to(x.features.device),
                                   outids.shape[0])
        return SparseTensor(feats, outids, out_shape, x.batch_size, x.indice_dict)
    rb: Rulebook = build_rulebook(x.indices, x.spatial_shape, kernel, stride, padding, dilation)
    c = x.features.shape[1]
    out = x.features.new_zeros((rb.out_indices.shape[0], c))
    out = out.scatter_reduce(0, rb.out_rows[:, None].expand(-1, c), x.features.index_select(0, rb.in_rows),
                             'amax', include_self=True)
    return SparseTensor(out, rb.out_indices, rb.out_shape, x.batch_size, x.indice_dict)
