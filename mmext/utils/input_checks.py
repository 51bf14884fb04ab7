"""Check the configured ``in_channels`` of a head or connector against its first real input.

A wrong ``in_channels`` otherwise surfaces deep inside torch ("expected input[2, 64, 24, 24] to have 128
channels"). :func:`check_in_channels` runs once per module, at its first forward, and names the config key, the
configured value and the actual one.
"""
from typing import Sequence, Union

import torch.nn as nn
from torch import Tensor

__all__ = ['check_in_channels']


def check_in_channels(module: nn.Module, feats: Union[Tensor, Sequence[Tensor]],
                      in_channels: Union[int, Sequence[int]], key: str = 'in_channels',
                      channel_dim: int = 1, shared_levels: bool = False) -> None:
    """Raise a ``ValueError`` naming ``key`` when ``feats`` do not have the configured channels.

    Args:
        module (nn.Module): The head; checked once (a flag is set on it after the first check).
        feats (Tensor | Sequence[Tensor]): The input, or one input per level.
        in_channels (int | Sequence[int]): The configured channels (a sequence for multi-level inputs).
        key (str): The config key to name. Defaults to ``'in_channels'``.
        channel_dim (int): Channel dimension of each input (-1 for ``[B, C]`` / token inputs). Defaults to 1.
        shared_levels (bool): ``feats`` is a sequence of levels that all have the one ``in_channels`` (an int),
            as in a head shared over FPN levels. Defaults to False.
    """
    if getattr(module, '_in_channels_checked', False):
        return
    name = type(module).__name__
    if isinstance(in_channels, int) and shared_levels:
        for level, feat in enumerate(feats):
            actual = int(feat.shape[channel_dim])
            if actual != in_channels:
                raise ValueError(f'{name}: {key}={in_channels} in the config, but input level {level} '
                                 f'{tuple(feat.shape)} has {actual} channels; set {key}={actual} (the channels of '
                                 f'the layer that feeds it)')
    elif isinstance(in_channels, int):
        if not isinstance(feats, Tensor):
            raise TypeError(f'{name}: expected one input tensor ({key}={in_channels}), got {type(feats).__name__}')
        actual = int(feats.shape[channel_dim])
        if actual != in_channels:
            raise ValueError(f'{name}: {key}={in_channels} in the config, but the input {tuple(feats.shape)} has '
                             f'{actual} channels; set {key}={actual} (the channels of the layer that feeds it)')
    else:
        configured = [int(c) for c in in_channels]
        if isinstance(feats, Tensor) or len(feats) != len(configured):
            got = 1 if isinstance(feats, Tensor) else len(feats)
            raise ValueError(f'{name}: {key}={configured} lists {len(configured)} levels, but the input has {got}')
        actual_list = [int(f.shape[channel_dim]) for f in feats]
        if actual_list != configured:
            bad = [i for i, (c, a) in enumerate(zip(configured, actual_list)) if c != a]
            raise ValueError(f'{name}: {key}={configured} in the config, but the inputs have {actual_list} channels '
                             f'({", ".join(f"{key}[{i}]" for i in bad)} differ); set {key}={actual_list}')
    module._in_channels_checked = True
