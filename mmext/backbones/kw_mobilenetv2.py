"""KW-MobileNetV2: MobileNetV2 with KernelWarehouse convolutions (stem included).

Chao Li, Anbang Yao. "KernelWarehouse: Rethinking the Design of Dynamic Convolution", ICML 2024,
arXiv 2406.07879. As released (``models/kw_mobilenetv2.py``): every conv, the stem too, is a KW conv; the stage of
each setting row is ``(1, 2, 3, 4, 5, 6, 6)`` with handover (a new stage's first block goes to the previous
stage's warehouses). 1x uses ``sharing_range=('layer', 'pwconv')`` (one pw and one dw warehouse per stage, 5.17M
with the 1000-class classifier); 4x uses ``('layer', )`` (separate pwconv0 / pwconv1 / dwconv0 warehouses,
11.38M). The 1/2x model of the paper is a separate hand-tuned network that is not implemented here.
"""
from typing import List, Sequence

import torch.nn as nn

from ..ops.warehouse_manager import WarehouseManager
from ..registry import register
from .dynamic_mobilenetv2 import DynamicMobileNetV2Base, MBV2ConvFactory, _ConvBNReLU
from .kw_utils import frozen_warehouses

__all__ = ['KWMobileNetV2']


@register('MODELS')
class KWMobileNetV2(DynamicMobileNetV2Base):
    """MobileNetV2 backbone with KernelWarehouse convolutions.

    Args:
        widen_factor (float): Width multiplier. Defaults to 1.0.
        cell_num_ratio (float): b. Defaults to 1.
        cell_inplane_ratio (float): Defaults to 1.
        cell_outplane_ratio (float): Defaults to 1.
        reduction (float): Attention reduction. Defaults to 0.0625.
        sharing_range (Sequence[str]): Defaults to ('layer', 'pwconv') (the 1x setting; 4x uses ('layer', )).
        out_indices, frozen_stages, norm_eval, init_cfg: See
            :class:`~mmext.backbones.dynamic_mobilenetv2.DynamicMobileNetV2Base`.
    """

    def __init__(self, widen_factor: float = 1.0, cell_num_ratio: float = 1, cell_inplane_ratio: float = 1,
                 cell_outplane_ratio: float = 1, reduction: float = 0.0625,
                 sharing_range: Sequence[str] = ('layer', 'pwconv'), out_indices: Sequence[int] = (7, ),
                 frozen_stages: int = -1, norm_eval: bool = False, init_cfg=None) -> None:
        manager = WarehouseManager(reduction, cell_num_ratio, cell_inplane_ratio, cell_outplane_ratio,
                                   sharing_range, 1.0, norm='BN')
        self._pending_manager = [manager]
        super().__init__(widen_factor, out_indices, frozen_stages, norm_eval, init_cfg)
        self.warehouse_manager = manager
        manager.store()
        manager.allocate(self)
        self._freeze_stages()

    def make_stem(self, out_channels: int) -> nn.Module:
        conv = self._pending_manager[0].reserve(3, out_channels, 3, 2, 1, bias=False, warehouse_name='stage0_conv0')
        return _ConvBNReLU(conv, out_channels)

    def conv_factory(self) -> MBV2ConvFactory:
        wm = self._pending_manager[0]

        def make(name: str, cin: int, cout: int, k: int, stride: int, groups: int) -> nn.Module:
            return wm.reserve(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False, warehouse_name=name)

        return make

    def frozen_modules(self) -> List[nn.Module]:
        mods = super().frozen_modules()
        return mods + frozen_warehouses(self._pending_manager[0], self, mods) if mods else mods
