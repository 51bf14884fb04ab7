"""Auxiliary classifier branches made of ResNet-style stages, as used by DKS ("Deeply-supervised Knowledge
Synergy", CVPR 2019, arXiv:1906.00675) and DCM ("Knowledge Transfer via Dense Cross-Layer Mutual-Distillation",
ECCV 2020, arXiv:2008.07816). They hang off an intermediate stage and are discarded after training."""
from typing import List, Optional, Sequence

import torch
from mmengine.model import BaseModule
from torch import nn

from mmext.backbones.cifar_wide_resnet import make_wide_layer
from mmext.registry import register
from mmext.utils.input_checks import check_in_channels

__all__ = ['ResNetAuxClassifier']


class _Block(nn.Module):
    """A post-activation residual block: basic (two 3x3) or bottleneck (1x1, 3x3, 1x1 with expansion 4)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, bottleneck: bool) -> None:
        super().__init__()
        if bottleneck:
            if out_channels % 4:
                raise ValueError(f'bottleneck stages need out_channels divisible by 4, got {out_channels}')
            mid = out_channels // 4
            layers = [nn.Conv2d(in_channels, mid, 1, bias=False), nn.BatchNorm2d(mid), nn.ReLU(inplace=True),
                      nn.Conv2d(mid, mid, 3, stride, 1, bias=False), nn.BatchNorm2d(mid), nn.ReLU(inplace=True),
                      nn.Conv2d(mid, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels)]
        else:
            layers = [nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False), nn.BatchNorm2d(out_channels),
                      nn.ReLU(inplace=True), nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False),
                      nn.BatchNorm2d(out_channels)]
        self.body = nn.Sequential(*layers)
        self.shortcut = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                                          nn.BatchNorm2d(out_channels))
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + self.shortcut(x))


@register('MODELS')
class ResNetAuxClassifier(BaseModule):
    """Residual stages, global average pooling and a linear classifier on an intermediate feature map.

    Each stage is ``(out_channels, num_blocks, stride)``; the first block of a stage carries the stride.

    With ``preact=True`` the blocks are the pre-activation basic blocks of
    :class:`~mmext.backbones.CifarWideResNet` (optionally with dropout) followed by a final BN-ReLU, which is the
    DKS/DCM WRN design of the released code (``shared/docs/references/distill.md`` §1.2) for a WRN-d-k with
    ``n = (d - 4) / 6``: the branch forking after group0 (``backbone.layer1``, ``in_channels=16k``) is a copy
    of group1 then group2 with half the blocks, ``stages=[(32k, n, 2), (64k, n // 2, 2)]``; the branch after
    group1 (``backbone.layer2``, ``in_channels=32k``) is group2 at double width, ``stages=[(128k, n, 2)]``.

    Args:
        in_channels (int): Channels of the feature the branch forks from.
        stages (Sequence[Sequence[int]]): ``[(out_channels, num_blocks, stride), ...]``, at least one.
        num_classes (int): Classes of the classifier.
        bottleneck (bool): Bottleneck blocks (ResNet-50 style) instead of basic blocks. Defaults to False.
        preact (bool): Pre-activation WRN blocks and a final BN-ReLU (the WRN branches). Defaults to False.
        drop_rate (float): Dropout between the two convs of each pre-activation block (``preact`` only).
            Defaults to 0.
        init_cfg (dict, optional): Initialisation config. Defaults to Kaiming convs and constant BN.
    """

    def __init__(self, in_channels: int, stages: Sequence[Sequence[int]], num_classes: int,
                 bottleneck: bool = False, preact: bool = False, drop_rate: float = 0.0,
                 init_cfg: Optional[List[dict]] = [dict(type='Kaiming', layer='Conv2d'),
                                                  dict(type='Constant', val=1, layer='BatchNorm2d')]) -> None:
        super().__init__(init_cfg=init_cfg)
        if not stages:
            raise ValueError('ResNetAuxClassifier: stages must list at least one (out_channels, num_blocks, stride)')
        if num_classes <= 0:
            raise ValueError(f'ResNetAuxClassifier: num_classes must be > 0, got {num_classes}')
        if preact and bottleneck:
            raise ValueError('ResNetAuxClassifier: preact=True (WRN blocks) cannot be combined with bottleneck=True')
        if drop_rate and not preact:
            raise ValueError(f'ResNetAuxClassifier: drop_rate={drop_rate} needs preact=True (the WRN blocks)')
        self.in_channels = in_channels
        blocks: List[nn.Module] = []
        channels = in_channels
        for stage in stages:
            if len(stage) != 3 or min(stage) <= 0:
                raise ValueError(f'ResNetAuxClassifier: each stage must be (out_channels, num_blocks, stride) '
                                 f'with positive values, got {stage}')
            out_channels, num_blocks, stride = stage
            if preact:
                blocks.append(make_wide_layer(channels, out_channels, num_blocks, stride, drop_rate))
                channels = out_channels
                continue
            for i in range(num_blocks):
                blocks.append(_Block(channels, out_channels, stride if i == 0 else 1, bottleneck))
                channels = out_channels
        if preact:  # pre-activation blocks leave the sum un-normalised
            blocks += [nn.BatchNorm2d(channels), nn.ReLU(inplace=True)]
        self.layers = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_in_channels(self, x, self.in_channels)
        return self.fc(self.pool(self.layers(x)).flatten(1))
