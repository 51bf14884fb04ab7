"""Argument handling that makes mmext's backbones drop-in replacements for the upstream ones.

mmdet's / mmseg's / mmpretrain's ``ResNet`` (and ``ResNetV1c`` / ``ResNetV1d``) and ``MobileNetV2`` take a common
set of constructor arguments. mmext's dynamic-convolution backbones accept the same names with the same meaning;
a value that the dynamic layers cannot honour is rejected here with an error naming the argument, the value
and what is accepted (never silently ignored).
"""
import warnings
from typing import Any, Iterable, Optional, Sequence, Union

import torch.nn as nn
from mmcv.cnn import build_norm_layer

__all__ = [
    'check_choice', 'check_int', 'check_conv_cfg', 'check_no_plugins', 'check_norm_cfg', 'check_stage_tuple',
    'make_norm', 'resolve_pretrained'
]

#: the ``conv_cfg`` types that mean "a plain convolution" for the static convs (stem, shortcut)
PLAIN_CONV_TYPES = ('Conv2d', 'Conv')


def check_int(owner: str, key: str, value: Any, choices: Optional[Iterable[int]] = None) -> int:
    """Reject a non-int (e.g. the string ``'50'`` for ``depth``) as a type error, then a value not in ``choices``."""
    if isinstance(value, bool) or not isinstance(value, int):
        expected = f'one of {sorted(choices)}' if choices is not None else 'an int'
        raise TypeError(f'{owner}: {key} must be an int ({expected}), got {value!r} of type {type(value).__name__}')
    if choices is not None and value not in set(choices):
        raise ValueError(f'{owner}: {key} must be one of {sorted(choices)}, got {value}')
    return value


def check_choice(owner: str, key: str, value: Any, choices: Sequence[Any]) -> Any:
    """Reject ``value`` not in ``choices``, naming the key."""
    if value not in choices:
        raise ValueError(f'{owner}: {key} must be one of {list(choices)}, got {value!r}')
    return value


def check_stage_tuple(owner: str, key: str, value: Sequence[Any], num_stages: int) -> tuple:
    """A per-stage argument (``strides``, ``dilations``, ``stage_with_dcn``) needs one entry per stage."""
    value = tuple(value)
    if len(value) != num_stages:
        raise ValueError(f'{owner}: {key} needs one entry per stage (num_stages={num_stages}), got {value}')
    return value


def check_conv_cfg(owner: str, conv_cfg: Optional[dict]) -> None:
    """``conv_cfg`` may only name a plain conv: the block convs are the method's dynamic convs by definition."""
    if conv_cfg is None:
        return
    if not isinstance(conv_cfg, dict) or conv_cfg.get('type') not in PLAIN_CONV_TYPES or len(conv_cfg) > 1:
        raise ValueError(f'{owner}: conv_cfg={conv_cfg!r} cannot be honoured: the block convolutions are the '
                         f'dynamic convolutions of {owner} and the stem/shortcut convs are plain; use conv_cfg=None '
                         f"(or dict(type='Conv2d'))")


def check_no_plugins(owner: str, plugins: Optional[list]) -> None:
    """mmdet/mmseg ``plugins`` (context blocks, non-local ...) are not implemented for the dynamic blocks."""
    if plugins:
        raise ValueError(f'{owner}: plugins={plugins!r} cannot be honoured (no plugin positions in the dynamic '
                         f'blocks); use plugins=None')


def check_norm_cfg(owner: str, norm_cfg: Any) -> dict:
    """``norm_cfg`` must be an mmcv norm config dict."""
    if not isinstance(norm_cfg, dict) or 'type' not in norm_cfg:
        raise TypeError(f"{owner}: norm_cfg must be a dict with a 'type' (e.g. dict(type='BN', "
                        f'requires_grad=True)), got {norm_cfg!r}')
    return dict(norm_cfg)


def make_norm(norm_cfg: dict, num_features: int) -> nn.Module:
    """Build a norm layer from an mmcv ``norm_cfg`` (``BN``, ``SyncBN``, ``GN``, ..., with ``requires_grad``)."""
    return build_norm_layer(dict(norm_cfg), num_features)[1]


def resolve_pretrained(owner: str, pretrained: Optional[str],
                       init_cfg: Union[dict, list, None]) -> Union[dict, list, None]:
    """The deprecated ``pretrained`` argument with mmseg's (and mmdet's) ResNet behaviour.

    A string becomes ``init_cfg=dict(type='Pretrained', checkpoint=pretrained)`` with a deprecation warning;
    setting both is an error; anything but a string or None is a type error.
    """
    if pretrained is None:
        return init_cfg
    if not isinstance(pretrained, str):
        raise TypeError(f'{owner}: pretrained must be a str or None, got {pretrained!r}')
    if init_cfg:
        raise ValueError(f'{owner}: init_cfg and pretrained cannot be set at the same time '
                         f'(got init_cfg={init_cfg!r}, pretrained={pretrained!r})')
    warnings.warn(f'{owner}: DeprecationWarning: pretrained is deprecated, please use "init_cfg" instead')
    return dict(type='Pretrained', checkpoint=pretrained)
