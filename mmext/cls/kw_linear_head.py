"""A classification head whose classifier is a KernelWarehouse ``KWLinear`` (KW-MobileNetV2 1/2x).

Chao Li, Anbang Yao. "KernelWarehouse: Rethinking the Design of Dynamic Convolution", ICML 2024,
arXiv 2406.07879. The released ``KW1d2x_MobileNetV2`` classifies with ``Dropout(0.1)`` and a KWLinear
``1280 -> num_classes`` that has a warehouse of its own (named ``classifier``: reduction 1/32, b = 1/2, cells of
``[num_classes, in/40]``, so 20 cells of ``[1000, 32]`` for ImageNet). No other layer shares that warehouse, so the
head holds its own :class:`~mmext.ops.WarehouseManager`; this is the same computation as the released single
manager (its ``warehouse_manager.weights.9`` is this head's ``warehouse_manager.weights.0``, see
``tools/model_converters/kw2mmext.py``), and keeps the backbone usable without the classifier (detection).
"""
from typing import Optional, Tuple

import torch
import torch.nn as nn
from mmpretrain.models.heads import ClsHead

from mmext.ops.warehouse_manager import WarehouseManager
from mmext.registry import register
from mmext.utils.input_checks import check_in_channels

__all__ = ['KWLinearClsHead']


@register('MODELS', scopes=['mmpretrain'])
class KWLinearClsHead(ClsHead):
    """Linear classification head with a KernelWarehouse ``KWLinear`` classifier (dropout before it).

    Takes pooled features (``neck=GlobalAveragePooling``). The classifier's tau is annealed with the backbone's by
    :class:`~mmext.engine.KWTemperatureHook` (it is a KW layer of the model) and is 0 when built for inference.

    Args:
        num_classes (int): Number of classes.
        in_channels (int): Input features.
        dropout (float): Dropout before the classifier. Defaults to 0.1 (the released KW-MobileNetV2 1/2x).
        reduction (float): Attention hidden ratio (hidden = max(int(in * reduction), 16)). Defaults to 1/32.
        cell_num_ratio (float): b of the classifier warehouse. Defaults to 0.5.
        cell_inplane_ratio (float): Cell input features / in_channels. Defaults to 0.025.
        cell_outplane_ratio (float): Cell output features / num_classes. Defaults to 1.
        init_cfg (dict, optional): Defaults to None: the attention keeps its Kaiming (fan-out) init and the cells
            the manager's (a ``layer='Linear'`` init would overwrite the attention's fc layers).
        **kwargs: ``loss``, ``topk``, ``cal_acc`` of :class:`mmpretrain.models.heads.ClsHead`.
    """

    def __init__(self, num_classes: int, in_channels: int, dropout: float = 0.1, reduction: float = 0.03125,
                 cell_num_ratio: float = 0.5, cell_inplane_ratio: float = 0.025, cell_outplane_ratio: float = 1.0,
                 init_cfg: Optional[dict] = None, **kwargs) -> None:
        super().__init__(init_cfg=init_cfg, **kwargs)
        if num_classes <= 0:
            raise ValueError(f'KWLinearClsHead: num_classes must be a positive integer, got {num_classes}')
        if not 0 <= dropout < 1:
            raise ValueError(f'KWLinearClsHead: dropout must be in [0, 1), got {dropout}')
        self.num_classes, self.in_channels = num_classes, in_channels
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.warehouse_manager = WarehouseManager(reduction, cell_num_ratio, cell_inplane_ratio, cell_outplane_ratio)
        self.fc = self.warehouse_manager.reserve(in_channels, num_classes, bias=True, warehouse_name='classifier',
                                                 layer_type='linear')
        self.warehouse_manager.store()
        self.warehouse_manager.allocate(self)

    def pre_logits(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """The last stage's pooled features ``[B, in_channels]``."""
        check_in_channels(self, feats[-1], self.in_channels, channel_dim=-1)
        return feats[-1]

    def forward(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """``[B, num_classes]`` logits."""
        return self.fc(self.dropout(self.pre_logits(feats)))
