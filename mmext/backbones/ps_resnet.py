"""PS-ResNet-50/101 and PS-ResNeXt (e.g. 101 32x4d): every bottleneck 3x3 conv is a poly-scale convolution.

Duo Li, Anbang Yao, Qifeng Chen. "PSConv: Squeezing Feature Pyramid into One Compact Poly-Scale Convolutional
Layer", ECCV 2020, arXiv 2007.06191. As released (d-li14/PSConv ``mmdet/models/backbones/resnet.py`` /
``resnext.py``): ``conv2`` of each bottleneck is ``PSConv(planes, planes, 3, stride, padding=1, dilation=2,
parts=4)`` (``PSGConv`` with ``groups`` for ResNeXt); the 7x7 stem, the 1x1 convs and the downsample convs stay
plain; where mmdet's ``dcn`` is set for a stage, that stage's 3x3 is a deformable conv instead (the release does
the same: its DCN branch replaces PSConv).

Module names are torchvision's (``conv1``, ``bn1``, ``layer{i}.{j}.conv2.gwconv...``, ``downsample.{0,1}``), the
release's layout. With the default ``weight_layout='compact'`` only the effective weights are stored (a PS-ResNet
has exactly the parameters and FLOPs of the plain ResNet); ``weight_layout='release'`` keeps the release's dense
masked ``conv2.conv.weight`` (1.5x the 3x3 storage).
"""
import math
from typing import List, Optional, Sequence

import torch.nn as nn

from ..ops.psconv import PSGConv2d
from ..registry import register
from .dynamic_resnet import ConvFactory, DynamicResNetBase
from .upstream_args import check_int

__all__ = ['PSResNet', 'PSResNeXt']


def _build_dcn(dcn: dict, cin: int, cout: int, stride: int, groups: int) -> nn.Module:
    from mmcv.ops import DeformConv2dPack, ModulatedDeformConv2dPack
    dcn_type = dcn.get('type', 'DCN')
    if dcn_type not in ('DCN', 'DCNv2'):
        raise ValueError(f"dcn['type'] must be 'DCN' or 'DCNv2' (mmdet's names), got {dcn_type!r}")
    cls = ModulatedDeformConv2dPack if dcn_type == 'DCNv2' else DeformConv2dPack
    return cls(cin, cout, 3, stride, 1, groups=groups, deform_groups=dcn.get('deform_groups', 1), bias=False)


@register('MODELS')
class PSResNet(DynamicResNetBase):
    """ResNet-50/101 backbone with poly-scale 3x3 convolutions.

    Args:
        depth (int): 50 or 101 (the released models; 18/34 have no bottleneck and are refused).
        ps_dilation (int): Dilation of the diagonal blocks (the shifted ones get twice it). Defaults to 2.
        parts (int): Channel blocks per group. Defaults to 4.
        weight_layout (str): ``'compact'`` or ``'release'``, see :class:`~mmext.ops.PSGConv2d`.
            Defaults to ``'compact'``.
        release_compat (bool): The release's grouped mask (only differs for ResNeXt). Defaults to False.
        dcn (dict, optional): mmdet-style ``dict(type='DCN' | 'DCNv2', deform_groups=1)``; the 3x3 of the stages in
            ``stage_with_dcn`` becomes mmcv's deformable conv (no PSConv there), as in the release.
        stage_with_dcn (Sequence[bool]): Defaults to (False, False, False, False).
        **kwargs: The upstream ResNet interface (``num_stages``, ``strides``, ``style``, ``deep_stem``,
            ``avg_down``, ``out_indices``, ``frozen_stages``, ``norm_cfg`` incl. SyncBN, ``norm_eval``, ``with_cp``,
            ``zero_init_residual``, ``pretrained``, ``init_cfg`` ...) plus ``base_channels`` and ``drop_path_rate``:
            see :class:`~mmext.backbones.dynamic_resnet.DynamicResNetBase`. A dilated stage (mmseg's ``-d8``
            ``dilations``) is refused: PSConv's dilation spectrum is ``ps_dilation``.

    Example:
        >>> backbone = PSResNet(depth=50, out_indices=(0, 1, 2, 3), frozen_stages=1, norm_eval=True,
        ...                     init_cfg=dict(type='Pretrained', checkpoint='ps_r50_mmext.pth', prefix='backbone.'))
    """

    groups: int = 1

    def __init__(self, depth: int, ps_dilation: int = 2, parts: int = 4, weight_layout: str = 'compact',
                 release_compat: bool = False, dcn: Optional[dict] = None,
                 stage_with_dcn: Sequence[bool] = (False, False, False, False), **kwargs) -> None:
        name = type(self).__name__
        check_int(name, 'depth', depth, (50, 101))  # the bottleneck ResNets; '50' is a type error
        if len(stage_with_dcn) != 4:
            raise ValueError(f'{name}: stage_with_dcn needs 4 entries, got {stage_with_dcn}')
        if dcn is not None and not isinstance(dcn, dict):
            raise TypeError(f'{name}: dcn must be a dict or None, got {type(dcn).__name__}')
        self.ps_dilation, self.parts = ps_dilation, parts
        self.weight_layout, self.release_compat = weight_layout, release_compat
        self.ps_dcn, self.ps_stage_with_dcn = dcn, tuple(stage_with_dcn)
        # DCN is handled by the conv factory (a deformable conv replaces PSConv), not by the base's wrapper
        super().__init__(depth, dcn=None, stage_with_dcn=(False, ) * 4, **kwargs)
        for m in self.ps_convs():  # the base's kaiming init also filled the masked dense weights
            if m.conv is not None:
                m.conv.weight.data.masked_fill_(m.mask, 0.0)
        self._freeze_stages()

    def conv_factory(self, stage_idx: int, layer_idx: int, handover: bool) -> ConvFactory:

        def make(role: str, cin: int, cout: int, k: int, stride: int, padding: int,
                 dilation: int = 1) -> nn.Module:
            if role != 'conv2':
                return nn.Conv2d(cin, cout, k, stride, padding, dilation=dilation, bias=False)
            if dilation != 1:
                raise ValueError(f'{type(self).__name__}: a dilated stage (dilation {dilation}) cannot use PSConv, '
                                 f'whose dilation spectrum is set by ps_dilation={self.ps_dilation}')
            if self.ps_dcn is not None and self.ps_stage_with_dcn[stage_idx]:
                return _build_dcn(self.ps_dcn, cin, cout, stride, self.groups)
            return PSGConv2d(cin, cout, 3, stride, 1, dilation=self.ps_dilation, groups=self.groups,
                             parts=self.parts, weight_layout=self.weight_layout,
                             release_compat=self.release_compat)

        return make

    def ps_convs(self) -> List[PSGConv2d]:
        """Every poly-scale conv of the backbone."""
        return [m for m in self.modules() if isinstance(m, PSGConv2d)]

    def effective_param_count(self) -> int:
        """Parameters of the effective network: the stored ones with each PSConv counted as its plain conv."""
        ps = self.ps_convs()
        stored_ps = sum(p.numel() for m in ps for p in m.parameters())
        return sum(p.numel() for p in self.parameters()) - stored_ps + sum(m.effective_param_count() for m in ps)


@register('MODELS')
class PSResNeXt(PSResNet):
    """ResNeXt backbone with grouped poly-scale 3x3 convolutions (``PSGConv2d``).

    Args:
        depth (int): 50 or 101 (the release: 101).
        groups (int): Cardinality. Defaults to 32.
        base_width (int): Channels per group at the first stage (mmdet's ResNeXt: the 3x3 width is
            ``floor(planes * base_width / 64) * groups``). Defaults to 4.
        release_compat (bool): The release's grouped mask (only 6.25 % of the dense weights masked for 32x4d);
            set it, with ``weight_layout='release'``, for weights converted from the released PS-ResNeXt.
            Defaults to False.
        **kwargs: See :class:`PSResNet`.
    """

    def __init__(self, depth: int, groups: int = 32, base_width: int = 4, **kwargs) -> None:
        self.groups, self.base_width = groups, base_width
        super().__init__(depth, **kwargs)

    def bottleneck_width(self, planes: int) -> int:
        return math.floor(planes * self.base_width / 64) * self.groups
