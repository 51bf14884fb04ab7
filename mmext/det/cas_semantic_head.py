"""CASNet's semantic branch: PanopticFPN's multi-level fusion with a logit for every thing and stuff class."""
from typing import Dict, Sequence

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmdet.models.seg_heads import PanopticFPNHead
from mmdet.structures import SampleList
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig
from torch import Tensor

from ..registry import register
from ..utils.input_checks import check_in_channels
from .cas_targets import semantic_targets

__all__ = ['CASSemanticHead']


@register('MODELS', scopes=['mmdet'])
class CASSemanticHead(PanopticFPNHead):
    """Semantic branch of CASNet: mmdet's :class:`PanopticFPNHead` fusion with one logit per class.

    CASNet ("CASNet: Common Attribute Support Network for image instance and panoptic segmentation", arXiv
    2008.00810) takes the class of each instance from a semantic branch. PanopticFPN's head merges all thing
    classes into one channel; this head keeps the same multi-level fusion (``ConvUpsample`` per FPN level summed at
    stride ``2**(start_level+2)``) but predicts ``num_things_classes + num_stuff_classes`` logits, things first.
    For instance segmentation alone use ``num_stuff_classes=1`` (one "background" class).

    Args:
        num_things_classes (int): Thing classes. Defaults to 80.
        num_stuff_classes (int): Stuff classes (1 = background only). Defaults to 53.
        in_channels (int): FPN channels. Defaults to 256.
        inner_channels (int): Fused feature channels. Defaults to 128.
        start_level (int): First FPN level used. Defaults to 0 (stride 4).
        end_level (int): One past the last FPN level used. Defaults to 4.
        num_convs (int): 3x3 conv layers (``inner_channels``, norm, ReLU) on the fused map before the logits; their
            output is also the ``seg_feats`` that the attribute and box-logit branches read. 0 (default):
            PanopticFPN's head as it is (the fused sum goes straight to the 1x1 logits).
        conv_cfg (dict, optional): Conv config.
        norm_cfg (dict): Norm config. Defaults to GN(32).
        loss_seg (dict): Per-pixel loss; targets use 255 for void. Defaults to cross-entropy with ignore 255.
        init_cfg (dict, optional): Init config.
    """

    def __init__(self,
                 num_things_classes: int = 80,
                 num_stuff_classes: int = 53,
                 in_channels: int = 256,
                 inner_channels: int = 128,
                 start_level: int = 0,
                 end_level: int = 4,
                 num_convs: int = 0,
                 conv_cfg: OptConfigType = None,
                 norm_cfg: ConfigType = dict(type='GN', num_groups=32, requires_grad=True),
                 loss_seg: ConfigType = dict(type='CrossEntropyLoss', ignore_index=255, loss_weight=1.0),
                 init_cfg: OptMultiConfig = None) -> None:
        if num_things_classes < 1 or num_stuff_classes < 1:
            raise ValueError(f'CASSemanticHead: num_things_classes and num_stuff_classes must be >= 1, got '
                             f'{num_things_classes} and {num_stuff_classes}')
        if not isinstance(num_convs, int) or num_convs < 0:
            raise ValueError(f'CASSemanticHead: num_convs must be an int >= 0, got {num_convs!r}')
        super().__init__(num_things_classes=num_things_classes, num_stuff_classes=num_stuff_classes,
                         in_channels=in_channels, inner_channels=inner_channels, start_level=start_level,
                         end_level=end_level, conv_cfg=conv_cfg, norm_cfg=norm_cfg, loss_seg=loss_seg,
                         init_cfg=init_cfg)
        self.num_classes = num_things_classes + num_stuff_classes
        self.conv_logits = nn.Conv2d(inner_channels, self.num_classes, 1)
        self.tower = nn.Sequential(*[
            ConvModule(inner_channels, inner_channels, 3, padding=1, conv_cfg=conv_cfg, norm_cfg=norm_cfg)
            for _ in range(num_convs)
        ])
        self.stride = 2**(start_level + 2)
        self.ignore_index = getattr(self.loss_seg, 'ignore_index', 255)
        self.in_channels = in_channels

    def forward(self, x: Sequence[Tensor]) -> Dict[str, Tensor]:
        """PanopticFPN's fusion of levels ``start_level..end_level-1`` (their channels checked), the tower, the logits."""
        if isinstance(x, (list, tuple)) and len(x) >= self.end_level:
            levels = list(x[self.start_level:self.end_level])
            check_in_channels(self, levels, self.in_channels, shared_levels=True)
        if len(x) < self.num_stages:
            raise ValueError(f'CASSemanticHead: needs {self.num_stages} FPN levels from start_level '
                             f'{self.start_level}, got {len(x)}')
        fused = torch.stack([layer(x[self.start_level + i]) for i, layer in enumerate(self.conv_upsample_layers)])
        seg_feats = self.tower(fused.sum(dim=0))
        return dict(seg_preds=self.conv_logits(seg_feats), seg_feats=seg_feats)

    def loss_by_feat(self, seg_preds: Tensor, targets: Tensor) -> Dict[str, Tensor]:
        """Cross-entropy of (B, C, h, w) logits against (B, h, w) labels from :func:`semantic_targets`."""
        if seg_preds.shape[-2:] != targets.shape[-2:]:
            raise ValueError(f'seg_preds {tuple(seg_preds.shape[-2:])} and targets {tuple(targets.shape[-2:])} '
                             'differ in size')
        logits = seg_preds.permute(0, 2, 3, 1).reshape(-1, self.num_classes)
        return dict(loss_seg=self.loss_seg(logits, targets.reshape(-1)))

    def loss(self, x: Sequence[Tensor], batch_data_samples: SampleList) -> Dict[str, Tensor]:
        seg_preds = self(x)['seg_preds']
        targets = semantic_targets(batch_data_samples, self.num_things_classes, self.num_stuff_classes, self.stride,
                                   tuple(seg_preds.shape[-2:]), self.ignore_index)
        return self.loss_by_feat(seg_preds, targets)
