"""KW-ResNet: ResNet-18/50 with KernelWarehouse convolutions and one warehouse per stage.

Chao Li, Anbang Yao. "KernelWarehouse: Rethinking the Design of Dynamic Convolution", ICML 2024,
arXiv 2406.07879. As released (``models/kw_resnet.py``): layers are named ``stage{s}_layer{l}_conv{c}`` and share
one warehouse per stage (``sharing_range=('layer', 'conv')``); the "warehouse handover" puts a stage's first
conv1 and its strided downsample 1x1 into the previous stage's warehouse. The stem, the stride-1 downsample of
layer1 and (R50) layer1.0.conv1 stay plain convs. Published 1000-class counts: R18 1/4x 4.08M (4.03M by our count,
see the test), 1/2x 7.43M, 1x 11.93M, 2x 23.24M, 4x 45.86M; R50 1/2x 17.64M, 1x 28.05M, 4x 102.02M.
Settings: 1/4x ``cell_num_ratio=0.25, cell_inplane_ratio=cell_outplane_ratio=0.5``; 1/2x 0.5/0.5/0.5 (R50 1/2x
also ``nonlocal_basis_ratio=0.0625``); bx ``cell_num_ratio=b``.
"""
from typing import List, Sequence

import torch.nn as nn

from ..ops.warehouse_manager import WarehouseManager
from ..registry import register
from .dynamic_resnet import ConvFactory, DynamicResNetBase
from .kw_utils import frozen_warehouses

__all__ = ['KWResNet', 'KWResNetV1c', 'KWResNetV1d']


@register('MODELS')
class KWResNet(DynamicResNetBase):
    """ResNet backbone with KernelWarehouse convolutions.

    Args:
        depth (int): 18, 34, 50 or 101 (the paper: 18 and 50).
        cell_num_ratio (float): b in {1/4, 1/2, 1, 2, 4}. Defaults to 1.
        cell_inplane_ratio (float): Defaults to 1.
        cell_outplane_ratio (float): Defaults to 1.
        reduction (float): Attention reduction. Defaults to 0.0625.
        nonlocal_basis_ratio (float): < 1 for the low-rank attention of R50 1/2x (0.0625). Defaults to 1.
        sharing_range (Sequence[str]): Defaults to ('layer', 'conv') (one warehouse per stage).
        conv_init (str): ``'kaiming_fan_out'`` (the released code: every layer's cells and the static stem and
            shortcut convs, kaiming-normal fan-out) or ``'pytorch'`` (``nn.Conv2d``'s default for all of them; see
            ``WarehouseManager``'s ``cell_init``). Defaults to ``'kaiming_fan_out'``.
        **kwargs: The upstream ResNet interface (``num_stages``, ``strides``, ``dilations``, ``style``,
            ``deep_stem``, ``avg_down``, ``out_indices``, ``frozen_stages``, ``norm_cfg``, ``norm_eval``, ``dcn``,
            ``stage_with_dcn``, ``with_cp``, ``pretrained``, ``init_cfg`` ...) plus ``base_channels`` and
            ``drop_path_rate``: see :class:`~mmext.backbones.dynamic_resnet.DynamicResNetBase`. With
            ``avg_down=True`` or a stride-1 (dilated) stage the shortcut 1x1 conv has stride 1 and stays a plain
            conv, as the release keeps every stride-1 shortcut plain.

    ``frozen_stages`` freezes the stem and the layers of stages 1..n; a warehouse is frozen only when every layer
    using it is frozen (the handover layers of stage n+1 still train stage n's warehouse).
    """

    def __init__(self, depth: int, cell_num_ratio: float = 1, cell_inplane_ratio: float = 1,
                 cell_outplane_ratio: float = 1, reduction: float = 0.0625, nonlocal_basis_ratio: float = 1.0,
                 sharing_range: Sequence[str] = ('layer', 'conv'), conv_init: str = 'kaiming_fan_out',
                 **kwargs) -> None:
        if conv_init not in WarehouseManager.CELL_INITS:
            raise ValueError(f'KWResNet: conv_init must be one of {WarehouseManager.CELL_INITS}, got {conv_init!r}')
        manager = WarehouseManager(reduction, cell_num_ratio, cell_inplane_ratio, cell_outplane_ratio,
                                   sharing_range, nonlocal_basis_ratio, norm='BN', cell_init=conv_init)
        self._pending_manager = [manager]
        super().__init__(depth, **kwargs)
        self.warehouse_manager = manager
        manager.store()
        manager.allocate(self)
        if conv_init == 'pytorch':
            self.reset_static_convs()
        self._freeze_stages()

    @property
    def _wm(self) -> WarehouseManager:
        return self._pending_manager[0]

    def make_downsample_conv(self, stage_idx: int, layer_idx: int, inplanes: int, outplanes: int,
                             stride: int) -> nn.Module:
        return self._wm.reserve(inplanes, outplanes, 1, stride, 0, bias=False, enabled=stride != 1,
                                warehouse_name=f'stage{stage_idx - 1}_layer{self._layer_counter + 1}_conv0')

    def _make_layer(self, stage_idx, planes, blocks, *args, **kwargs):
        if stage_idx == 0:
            self._layer_counter = 0
        layer = super()._make_layer(stage_idx, planes, blocks, *args, **kwargs)
        self._layer_counter = blocks
        return layer

    def conv_factory(self, stage_idx: int, layer_idx: int, handover: bool) -> ConvFactory:
        wm = self._wm
        # the released numbering: the first block uses the running layer index, later blocks 1, 2, ...
        first_idx = self._layer_counter if handover else layer_idx

        def make(role: str, cin: int, cout: int, k: int, stride: int, padding: int, dilation: int = 1) -> nn.Module:
            c = int(role[-1]) - 1
            if role == 'conv1':
                stage = stage_idx - 1 if handover else stage_idx
                if self.block.expansion == 1:
                    stage = max(stage, 0)
                name = f'stage{stage}_layer{first_idx}_conv{c}'
                return wm.reserve(cin, cout, k, stride, padding, dilation, bias=False, warehouse_name=name,
                                  enabled=stage >= 0)
            idx = 0 if handover else layer_idx
            return wm.reserve(cin, cout, k, stride, padding, dilation, bias=False,
                              warehouse_name=f'stage{stage_idx}_layer'
                              f'{idx}_conv{c}')

        return make

    def frozen_modules(self) -> List[nn.Module]:
        mods = super().frozen_modules()
        return mods + frozen_warehouses(self._wm, self, mods) if self.frozen_stages >= 1 else mods


@register('MODELS')
class KWResNetV1c(KWResNet):
    """KW-ResNet with the V1c stem (three 3x3 convs): the drop-in for mmdet's / mmseg's ``ResNetV1c``.

    Same arguments as :class:`KWResNet`; ``deep_stem=True, avg_down=False`` as upstream.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(deep_stem=True, avg_down=False, **kwargs)


@register('MODELS')
class KWResNetV1d(KWResNet):
    """KW-ResNet-V1d (V1c stem and AvgPool shortcuts): the drop-in for ``ResNetV1d``.

    Same arguments as :class:`KWResNet`; ``deep_stem=True, avg_down=True`` as upstream.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(deep_stem=True, avg_down=True, **kwargs)
