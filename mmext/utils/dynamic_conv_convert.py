"""Key mapping shared by the ODConv / KernelWarehouse checkpoint converters (tools/model_converters/)."""
from collections import OrderedDict
from typing import Any, Dict, Mapping, Optional

import torch

__all__ = ['unwrap_checkpoint', 'to_mmpretrain_classifier']


def unwrap_checkpoint(checkpoint: Mapping[str, Any], key: Optional[str] = None) -> Dict[str, torch.Tensor]:
    """The tensors of a released checkpoint with any ``module.`` prefix removed.

    Args:
        checkpoint: ``{'state_dict': ...}`` (ODConv's ``main.py``), ``{'model': ..., 'model_ema': ...}``
            (KernelWarehouse's ConvNeXt-style ``main.py``) or a raw state dict.
        key (str, optional): Force the sub-dict to use (e.g. ``'model_ema'``). Defaults to the first of
            ``state_dict``, ``model`` that exists.
    """
    if not isinstance(checkpoint, Mapping):
        raise TypeError(f'checkpoint must be a dict, got {type(checkpoint).__name__}')
    state: Mapping[str, Any] = checkpoint
    if key is not None:
        if key not in checkpoint:
            raise KeyError(f'checkpoint has no {key!r} entry; it has {sorted(checkpoint)[:10]}')
        state = checkpoint[key]
    else:
        for k in ('state_dict', 'model'):
            if isinstance(checkpoint.get(k), Mapping):
                state = checkpoint[k]
                break
    out: Dict[str, torch.Tensor] = OrderedDict()
    for k, v in state.items():
        if isinstance(v, torch.Tensor):
            out[k[len('module.'):] if k.startswith('module.') else k] = v
    return out


def to_mmpretrain_classifier(state: Mapping[str, torch.Tensor], head_map: Mapping[str, str],
                             backbone_renames: Optional[Mapping[str, str]] = None) -> Dict[str, torch.Tensor]:
    """Prefix backbone keys with ``backbone.`` and map the classifier keys to ``head.fc.*``.

    Args:
        state: Released state dict (unwrapped).
        head_map: Released classifier prefix -> ``head.fc.`` (e.g. ``{'fc.': 'head.fc.'}``).
        backbone_renames: Released prefix -> backbone prefix renames (e.g. ``{'norm.': 'norm3.'}``).
    """
    out: Dict[str, torch.Tensor] = OrderedDict()
    for k, v in state.items():
        head = next((p for p in head_map if k.startswith(p)), None)
        if head is not None:
            out[head_map[head] + k[len(head):]] = v
            continue
        for old, new in (backbone_renames or {}).items():
            if k.startswith(old):
                k = new + k[len(old):]
                break
        out['backbone.' + k] = v
    return out
