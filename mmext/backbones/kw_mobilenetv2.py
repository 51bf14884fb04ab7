"""KW-MobileNetV2: MobileNetV2 with KernelWarehouse convolutions (stem included).

Chao Li, Anbang Yao. "KernelWarehouse: Rethinking the Design of Dynamic Convolution", ICML 2024,
arXiv 2406.07879. As released (``models/kw_mobilenetv2.py``, ``models/kw1d2x_mobilenetv2.py``): the stem is a KW
conv; the stage of each setting row is ``(1, 2, 3, 4, 5, 6, 6)`` with handover (a new stage's first block goes to the
previous stage's warehouses). Three released layouts, selected by ``arch``:

* ``'1x'``: every conv is KW, ``sharing_range=('layer', 'pwconv')`` (one pw and one dw warehouse per stage);
  5.17M with the 1000-class classifier.
* ``'4x'``: every conv is KW, ``cell_num_ratio=4``, ``sharing_range=('layer', )`` (separate pwconv0 / pwconv1 /
  dwconv0 warehouses per stage); 11.38M.
* ``'0.5x'`` (the released ``KW1d2x_MobileNetV2``): reduction 1/32, ``sharing_range=('layer', )``, the pointwise
  convs of stages 1-5 stay plain ``nn.Conv2d`` (so those stages only have dw warehouses), and the nine backbone
  warehouses (stem, dw 1-5, stage-6 pwconv0 / dwconv0 / pwconv1) use per-warehouse ``cell_num_ratio``
  ``(1, 1, 1, 1, 1, 1, 0.5, 1, 0.5)`` and in/out cell ratios ``(1, 1, 1, 1, 1, 1, 0.5, 1, 0.5)``. Its classifier
  is a KWLinear in a tenth warehouse (b 1/2, in-cell ratio 1/40): use :class:`~mmext.cls.KWLinearClsHead`
  (dropout 0.1); 2.65M with that head.
"""
from typing import Dict, List, Optional, Sequence, Union

import torch.nn as nn

from ..ops.warehouse_manager import WarehouseManager
from ..registry import register
from .dynamic_mobilenetv2 import DynamicMobileNetV2Base, MBV2ConvFactory
from .kw_utils import frozen_warehouses

__all__ = ['KWMobileNetV2']

_Num = Union[float, Sequence[float]]
_HALF_RATIOS = (1, 1, 1, 1, 1, 1, 0.5, 1, 0.5)


@register('MODELS')
class KWMobileNetV2(DynamicMobileNetV2Base):
    """MobileNetV2 backbone with KernelWarehouse convolutions.

    The warehouse arguments default to ``None``: the value of the ``arch`` preset (see :attr:`ARCH_SETTINGS`);
    a value given explicitly overrides the preset.

    Args:
        widen_factor (float): Width multiplier. Defaults to 1.0.
        cell_num_ratio (float | sequence, optional): b (one value per warehouse, in order of creation, or one for
            all). Preset: 1 (1x), 4 (4x), per warehouse (0.5x).
        cell_inplane_ratio (float | sequence, optional): Preset: 1, per warehouse for 0.5x.
        cell_outplane_ratio (float | sequence, optional): Preset: 1, per warehouse for 0.5x.
        reduction (float, optional): Attention reduction. Preset: 1/16 (1/32 for 0.5x).
        sharing_range (Sequence[str], optional): Preset: ('layer', 'pwconv') for 1x, ('layer', ) otherwise.
        arch (str): ``'1x'``, ``'4x'`` or ``'0.5x'``. Defaults to ``'1x'``.
        static_pw_stages (Sequence[int], optional): KW stages (1..6) whose pointwise convs stay plain
            ``nn.Conv2d``. Preset: () (1-5 for 0.5x).
        **kwargs: The upstream MobileNetV2 interface (``conv_cfg``, ``norm_cfg`` incl. SyncBN, ``act_cfg``,
            ``with_cp``, mmseg's ``strides`` / ``dilations``, ``pretrained``), see
            :class:`~mmext.backbones.dynamic_mobilenetv2.DynamicMobileNetV2Base`.
        out_indices, frozen_stages, norm_eval, init_cfg: See
            :class:`~mmext.backbones.dynamic_mobilenetv2.DynamicMobileNetV2Base`.
    """

    #: the released warehouse settings (``models/kw_mobilenetv2.py`` + JSONs, ``models/kw1d2x_mobilenetv2.py``)
    ARCH_SETTINGS: Dict[str, dict] = {
        '1x': dict(cell_num_ratio=1, cell_inplane_ratio=1, cell_outplane_ratio=1, reduction=0.0625,
                   sharing_range=('layer', 'pwconv'), static_pw_stages=()),
        '4x': dict(cell_num_ratio=4, cell_inplane_ratio=1, cell_outplane_ratio=1, reduction=0.0625,
                   sharing_range=('layer', ), static_pw_stages=()),
        '0.5x': dict(cell_num_ratio=_HALF_RATIOS, cell_inplane_ratio=_HALF_RATIOS, cell_outplane_ratio=_HALF_RATIOS,
                     reduction=0.03125, sharing_range=('layer', ), static_pw_stages=(1, 2, 3, 4, 5)),
    }

    def __init__(self, widen_factor: float = 1.0, cell_num_ratio: Optional[_Num] = None,
                 cell_inplane_ratio: Optional[_Num] = None, cell_outplane_ratio: Optional[_Num] = None,
                 reduction: Optional[float] = None, sharing_range: Optional[Sequence[str]] = None, arch: str = '1x',
                 static_pw_stages: Optional[Sequence[int]] = None, out_indices: Sequence[int] = (7, ),
                 frozen_stages: int = -1, norm_eval: bool = False, init_cfg=None, **kwargs) -> None:
        if arch not in self.ARCH_SETTINGS:
            raise ValueError(f'KWMobileNetV2: arch must be one of {sorted(self.ARCH_SETTINGS)}, got {arch!r}')
        given = dict(cell_num_ratio=cell_num_ratio, cell_inplane_ratio=cell_inplane_ratio,
                     cell_outplane_ratio=cell_outplane_ratio, reduction=reduction, sharing_range=sharing_range,
                     static_pw_stages=static_pw_stages)
        cfg = {k: self.ARCH_SETTINGS[arch][k] if v is None else v for k, v in given.items()}
        if not set(cfg['static_pw_stages']) <= set(range(1, 7)):
            raise ValueError(f'KWMobileNetV2: static_pw_stages must be in 1..6, got {cfg["static_pw_stages"]}')
        self.arch = arch
        self.static_pw_stages = tuple(cfg['static_pw_stages'])
        manager = WarehouseManager(cfg['reduction'], cfg['cell_num_ratio'], cfg['cell_inplane_ratio'],
                                   cfg['cell_outplane_ratio'], cfg['sharing_range'], 1.0, norm='BN')
        self._pending_manager = [manager]
        super().__init__(widen_factor, out_indices, frozen_stages, norm_eval, init_cfg=init_cfg, **kwargs)
        self.warehouse_manager = manager
        manager.store()
        manager.allocate(self)
        self._freeze_stages()

    def make_stem(self, out_channels: int) -> nn.Module:
        conv = self._pending_manager[0].reserve(3, out_channels, 3, 2, 1, bias=False, warehouse_name='stage0_conv0')
        return self.conv_norm_act(conv, out_channels)

    def _is_kw(self, name: str) -> bool:
        """``stage{s}_layer{l}_{conv}``: False for the pointwise convs of a stage in ``static_pw_stages``."""
        stage_tok, _, conv_tok = name.split('_')
        return not (conv_tok.startswith('pwconv') and int(stage_tok[len('stage'):]) in self.static_pw_stages)

    def conv_factory(self) -> MBV2ConvFactory:
        wm = self._pending_manager[0]

        def make(name: str, cin: int, cout: int, k: int, stride: int, groups: int, dilation: int) -> nn.Module:
            return wm.reserve(cin, cout, k, stride, dilation * (k - 1) // 2, dilation, groups=groups, bias=False,
                              warehouse_name=name, enabled=self._is_kw(name))

        return make

    def frozen_modules(self) -> List[nn.Module]:
        mods = super().frozen_modules()
        return mods + frozen_warehouses(self._pending_manager[0], self, mods) if mods else mods
