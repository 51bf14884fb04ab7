"""Re-pack the release's PSConv weights (dense masked ``conv``) into mmext's compact PSConv layout.

"PSConv: Squeezing Feature Pyramid into One Compact Poly-Scale Convolutional Layer", ECCV 2020, arXiv 2007.06191.
A released poly-scale conv ``P`` stores ``P.gwconv.weight [C, C/(g*p), k, k]``, ``P.gwconv_shift.weight`` (same)
and ``P.conv.weight [C, C/g, k, k]`` whose blocks covered by the two group convs are zero. The compact layout keeps
the other blocks only: ``P.conv_rest.weight [C, (p-2)*C/(g*p), k, k]`` (see :class:`mmext.ops.PSGConv2d`).
"""
from collections import OrderedDict
from typing import Dict, List, Mapping, Tuple

import torch

from ..ops.psconv import psconv_mask

__all__ = ['find_psconv_prefixes', 'compact_psconv_state', 'masked_nonzeros']


def find_psconv_prefixes(state: Mapping[str, torch.Tensor]) -> List[str]:
    """Prefixes ``P.`` of every released-layout PSConv (``P.gwconv_shift.weight`` and ``P.conv.weight`` present)."""
    return [k[:-len('gwconv_shift.weight')] for k in state
            if k.endswith('gwconv_shift.weight') and k[:-len('gwconv_shift.weight')] + 'conv.weight' in state]


def _geometry(state: Mapping[str, torch.Tensor], prefix: str) -> Tuple[int, int, int]:
    dense, gw = state[prefix + 'conv.weight'], state[prefix + 'gwconv.weight']
    out_c, cin_g, k = dense.shape[0], dense.shape[1], dense.shape[-1]
    if cin_g % gw.shape[1]:
        raise ValueError(f'{prefix}conv.weight {tuple(dense.shape)} and {prefix}gwconv.weight {tuple(gw.shape)} '
                         f'do not form a PSConv (in/groups not a multiple of in/(groups*parts))')
    parts = cin_g // gw.shape[1]
    groups = out_c // cin_g  # every released PSConv is square (planes -> planes, width -> width)
    return groups, parts, k


def masked_nonzeros(state: Mapping[str, torch.Tensor], prefix: str) -> int:
    """Non-zero entries of ``P.conv.weight`` where the correct PSConv mask is set (0 for a lossless compaction)."""
    groups, parts, k = _geometry(state, prefix)
    dense = state[prefix + 'conv.weight']
    mask = psconv_mask(dense.shape[0], dense.shape[1] * groups, k, groups, parts)
    return int((dense[mask] != 0).sum())


def compact_psconv_state(state: Mapping[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Release layout -> compact layout for every PSConv in ``state``; other keys pass through.

    Raises:
        ValueError: A dense weight is non-zero where the correct mask is set (weights trained with the release's
            grouped-mask bug); compacting would change the function. The message names the key and the count.
    """
    prefixes = set(find_psconv_prefixes(state))
    out: Dict[str, torch.Tensor] = OrderedDict()
    for key, value in state.items():
        prefix = next((p for p in prefixes if key.startswith(p) and key[len(p):].count('.') == 1), None)
        if prefix is None:
            out[key] = value
            continue
        name = key[len(prefix):]
        if name == 'conv.weight':
            bad = masked_nonzeros(state, prefix)
            if bad:
                raise ValueError(f'{key}: {bad} non-zero weights where the PSConv mask is set (trained with the '
                                 f"release's grouped-mask bug?); keep weight_layout='release', release_compat=True")
            groups, parts, k = _geometry(state, prefix)
            mask = psconv_mask(value.shape[0], value.shape[1] * groups, k, groups, parts)
            out[prefix + 'conv_rest.weight'] = value[~mask].reshape(value.shape[0], -1, k, k).clone()
        elif name in ('conv.bias', 'gwconv_shift.bias'):
            continue  # summed into gwconv.bias below
        elif name == 'gwconv.bias':
            out[key] = value + sum(state.get(prefix + n, 0) for n in ('conv.bias', 'gwconv_shift.bias'))
        else:
            out[key] = value
    return out
