"""CASNet's dense common-attribute head: every pixel predicts its instance's box (and centre) and a quality."""
import math
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmdet.models.layers import ConvUpsample
from mmdet.registry import MODELS
from mmdet.structures import SampleList
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig
from mmengine.model import BaseModule, ModuleList
from torch import Tensor

from ..registry import register
from ..utils.input_checks import check_in_channels
from .cas_clustering import masks_to_boxes
from .cas_targets import instance_owner

__all__ = ['CASAttributeHead']


@register('MODELS', scopes=['mmdet'])
class CASAttributeHead(BaseModule):
    """Dense common-attribute head of CASNet.

    CASNet ("CASNet: Common Attribute Support Network for image instance and panoptic segmentation", arXiv
    2008.00810) predicts at every pixel attributes shared by all pixels of its instance. Design choices (the paper's
    code is not public; see ``configs/casnet/README.md``):

    * the attributes are the instance's box, regressed as distances ``(l, t, r, b)`` from the cell centre to the
      box sides (``distance_norm * exp(raw)``), and with ``with_centre`` the instance's mass centre as an offset;
      the box is the tight box of the instance's (visible) ground-truth mask, the same rule used on predictions;
    * a per-pixel quality logit regresses the IoU of the pixel's own predicted box with its instance's box, so the
      clustering seeds from the pixels that predict the attribute best;
    * a cell belongs to the smallest instance mask covering it (at the head's stride);
    * ``instance_balanced``: each instance's cells share weight 1, so large instances do not dominate the loss.

    Args:
        in_channels (int): Input channels (FPN channels, or the semantic head's ``inner_channels`` when
            ``fuse_levels`` is None). Defaults to 256.
        feat_channels (int): Channels of the fused features and of the tower. Defaults to 128.
        fuse_levels (tuple[int, int], optional): ``(start, end)`` FPN levels fused as in PanopticFPN's head (its
            own fusion, no sharing). None: the input is one stride-4 map, e.g. the semantic head's fused features
            (shared, "little overhead"). Defaults to (0, 4).
        num_convs (int): 3x3 conv layers after the fusion. Defaults to 2.
        stride (int): Output stride. Defaults to 4.
        with_centre (bool): Predict the mass-centre attribute too. Defaults to True.
        distance_norm (float): Distance scale in pixels. Defaults to 32.
        instance_balanced (bool): Equal total weight per instance. Defaults to True.
        conv_cfg (dict, optional): Conv config.
        norm_cfg (dict): Norm config. Defaults to GN(32).
        loss_box (dict): Box loss on decoded boxes. Defaults to GIoU.
        loss_centre (dict): Centre loss on offsets divided by ``distance_norm``. Defaults to L1.
        loss_quality (dict): Quality loss (sigmoid, soft IoU targets). Defaults to BCE.
        init_cfg (dict, optional): Init config.
    """

    def __init__(self,
                 in_channels: int = 256,
                 feat_channels: int = 128,
                 fuse_levels: Optional[Tuple[int, int]] = (0, 4),
                 num_convs: int = 2,
                 stride: int = 4,
                 with_centre: bool = True,
                 distance_norm: float = 32.0,
                 instance_balanced: bool = True,
                 conv_cfg: OptConfigType = None,
                 norm_cfg: ConfigType = dict(type='GN', num_groups=32, requires_grad=True),
                 loss_box: ConfigType = dict(type='GIoULoss', loss_weight=1.0),
                 loss_centre: ConfigType = dict(type='L1Loss', loss_weight=1.0),
                 loss_quality: ConfigType = dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if fuse_levels is not None:
            start, end = fuse_levels
            if not 0 <= start < end or stride != 2**(start + 2):
                raise ValueError(f'CASAttributeHead: fuse_levels must be (start, end) with 0 <= start < end and '
                                 f'stride == 2**(start+2); got fuse_levels={fuse_levels}, stride={stride}')
        if distance_norm <= 0:
            raise ValueError(f'CASAttributeHead: distance_norm must be > 0, got {distance_norm}')
        self.fuse_levels = tuple(fuse_levels) if fuse_levels is not None else None
        self.stride = stride
        self.with_centre = with_centre
        self.distance_norm = float(distance_norm)
        self.instance_balanced = instance_balanced
        self.in_channels = in_channels
        self.fusion = ModuleList()
        channels = in_channels
        if self.fuse_levels is not None:
            for i in range(*self.fuse_levels):
                self.fusion.append(
                    ConvUpsample(in_channels, feat_channels, num_layers=i if i > 0 else 1, num_upsample=i,
                                 conv_cfg=conv_cfg, norm_cfg=norm_cfg))
            channels = feat_channels
        self.tower = nn.Sequential(*[
            ConvModule(channels if j == 0 else feat_channels, feat_channels, 3, padding=1, conv_cfg=conv_cfg,
                       norm_cfg=norm_cfg) for j in range(num_convs)
        ])
        out = feat_channels if num_convs > 0 else channels
        self.conv_dist = nn.Conv2d(out, 4, 3, padding=1)
        self.conv_quality = nn.Conv2d(out, 1, 3, padding=1)
        self.conv_centre = nn.Conv2d(out, 2, 3, padding=1) if with_centre else None
        self.loss_box = MODELS.build(loss_box)
        self.loss_quality = MODELS.build(loss_quality)
        self.loss_centre = MODELS.build(loss_centre) if with_centre else None
        self._max_log = math.log(1e4 / self.distance_norm)

    @property
    def fuses(self) -> bool:
        """Whether the head fuses FPN levels itself (else it takes one stride-4 map)."""
        return self.fuse_levels is not None

    def init_weights(self) -> None:
        super().init_weights()
        for conv in (self.conv_dist, self.conv_quality, self.conv_centre):
            if conv is not None:
                nn.init.normal_(conv.weight, 0, 0.01)
                nn.init.zeros_(conv.bias)

    def forward(self, x: Union[Tensor, Sequence[Tensor]]) -> Dict[str, Tensor]:
        """Dense attributes at ``stride``.

        Returns:
            dict: ``dist`` (B, 4, h, w) pixel distances to the box sides (l, t, r, b), ``quality`` (B, 1, h, w)
            logits and, with centres, ``centre`` (B, 2, h, w) pixel offsets (dx, dy) to the mass centre.
        """
        if self.fuses:
            start, end = self.fuse_levels
            if not isinstance(x, (list, tuple)) or len(x) < end:
                raise ValueError(f'CASAttributeHead with fuse_levels={self.fuse_levels} needs >= {end} FPN levels')
            check_in_channels(self, list(x[start:end]), self.in_channels, shared_levels=True)
            feat = torch.stack([layer(x[start + i]) for i, layer in enumerate(self.fusion)]).sum(0)
        else:
            if isinstance(x, (list, tuple)):
                raise ValueError('CASAttributeHead with fuse_levels=None takes one stride-4 tensor '
                                 "(the semantic head's seg_feats), not a list of FPN levels")
            check_in_channels(self, x, self.in_channels)
            feat = x
        feat = self.tower(feat)
        out = dict(dist=self.distance_norm * self.conv_dist(feat).clamp(max=self._max_log).exp(),
                   quality=self.conv_quality(feat))
        if self.with_centre:
            out['centre'] = self.distance_norm * self.conv_centre(feat)
        return out

    def cell_centres(self, h: int, w: int, device: torch.device) -> Tuple[Tensor, Tensor]:
        """Image coordinates (x, y) of the centres of the pixels the cells sample, each (h, w)."""
        off = self.stride // 2 + 0.5
        ys = torch.arange(h, device=device, dtype=torch.float32) * self.stride + off
        xs = torch.arange(w, device=device, dtype=torch.float32) * self.stride + off
        return xs[None, :].expand(h, w), ys[:, None].expand(h, w)

    def decode(self, out: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """Absolute attributes: ``boxes`` (B, h, w, 4), ``centres`` (B, h, w, 2) when predicted."""
        dist = out['dist']
        _, _, h, w = dist.shape
        cx, cy = self.cell_centres(h, w, dist.device)
        boxes = torch.stack([cx - dist[:, 0], cy - dist[:, 1], cx + dist[:, 2], cy + dist[:, 3]], dim=-1)
        res = dict(boxes=boxes)
        if 'centre' in out:
            res['centres'] = torch.stack([cx + out['centre'][:, 0], cy + out['centre'][:, 1]], dim=-1)
        return res

    def get_targets(self, out_hw: Tuple[int, int], data_samples: SampleList) -> Dict[str, Tensor]:
        """Per-cell targets: ``owner`` (B, h, w) global instance index or -1, ``boxes`` (M, 4), ``centres`` (M, 2)
        and ``cells`` (M,) the number of cells each instance owns, for the M instances of the batch."""
        owners, boxes, centres, cells = [], [], [], []
        offset = 0
        for sample in data_samples:
            owner, _ = instance_owner(sample, self.stride, out_hw)
            gt = sample.gt_instances
            n = len(gt)
            if n:
                masks = gt.masks
                masks = masks.to_tensor(dtype=torch.bool, device=owner.device) if hasattr(masks, 'to_tensor') \
                    else masks.bool()
                boxes.append(masks_to_boxes(masks))
                area = masks.flatten(1).sum(1).float().clamp(min=1)
                hh, ww = masks.shape[-2:]
                ys = torch.arange(hh, device=owner.device, dtype=torch.float32) + 0.5
                xs = torch.arange(ww, device=owner.device, dtype=torch.float32) + 0.5
                mx = (masks.sum(1).float() * xs).sum(1) / area
                my = (masks.sum(2).float() * ys).sum(1) / area
                centres.append(torch.stack([mx, my], dim=1))
                cells.append(torch.bincount(owner[owner >= 0], minlength=n).float())
            owners.append(torch.where(owner >= 0, owner + offset, owner))
            offset += n
        device = owners[0].device
        cat = (lambda xs, shape: torch.cat(xs) if xs else torch.zeros(shape, device=device))
        return dict(owner=torch.stack(owners), boxes=cat(boxes, (0, 4)), centres=cat(centres, (0, 2)),
                    cells=cat(cells, (0, )))

    def encode_targets(self, out_hw: Tuple[int, int], data_samples: SampleList) -> Dict[str, Tensor]:
        """Dense ground-truth attributes in the form :meth:`forward` outputs them, the inverse of :meth:`decode`.

        Returns:
            dict: ``dist`` (B, 4, h, w) and ``centre`` (B, 2, h, w) pixel distances / offsets of each owned cell
            (1 and 0 on unowned cells), ``owner`` (B, h, w) as in :meth:`get_targets`.
        """
        tgt = self.get_targets(out_hw, data_samples)
        owner = tgt['owner']
        b, (h, w) = owner.shape[0], out_hw
        cx, cy = (c.expand(b, h, w) for c in self.cell_centres(h, w, owner.device))
        pos = owner >= 0
        dist = torch.ones((b, h, w, 4), device=owner.device)
        centre = torch.zeros((b, h, w, 2), device=owner.device)
        box, ctr = tgt['boxes'][owner[pos]], tgt['centres'][owner[pos]]
        x, y = cx[pos], cy[pos]
        dist[pos] = torch.stack([x - box[:, 0], y - box[:, 1], box[:, 2] - x, box[:, 3] - y], dim=1)
        centre[pos] = torch.stack([ctr[:, 0] - x, ctr[:, 1] - y], dim=1)
        return dict(dist=dist.permute(0, 3, 1, 2), centre=centre.permute(0, 3, 1, 2), owner=owner)

    def loss_by_feat(self, out: Dict[str, Tensor], data_samples: SampleList) -> Dict[str, Tensor]:
        """Attribute losses on the cells that some instance owns."""
        b, _, h, w = out['dist'].shape
        tgt = self.get_targets((h, w), data_samples)
        dec = self.decode(out)
        owner = tgt['owner'].reshape(-1)
        pos = torch.nonzero(owner >= 0, as_tuple=False).squeeze(1)
        if pos.numel() == 0:  # no instance in the batch: zero losses that still reach every output
            zero = sum(v.sum() for v in out.values()) * 0
            losses = dict(loss_box=zero, loss_quality=zero)
            if self.with_centre:
                losses['loss_centre'] = zero
            return losses
        inst = owner[pos]
        if self.instance_balanced:
            weight = 1.0 / tgt['cells'][inst].clamp(min=1)
        else:
            weight = torch.ones_like(inst, dtype=torch.float32)
        avg = weight.sum().clamp(min=1e-6)
        pred_boxes = dec['boxes'].reshape(-1, 4)[pos]
        tgt_boxes = tgt['boxes'][inst]
        losses = dict(loss_box=self.loss_box(pred_boxes, tgt_boxes, weight=weight, avg_factor=avg))
        with torch.no_grad():
            iou = _paired_iou(pred_boxes, tgt_boxes)
        q = out['quality'].permute(0, 2, 3, 1).reshape(-1)[pos]
        losses['loss_quality'] = self.loss_quality(q, iou, weight=weight, avg_factor=avg)
        if self.with_centre:
            pc = dec['centres'].reshape(-1, 2)[pos] / self.distance_norm
            tc = tgt['centres'][inst] / self.distance_norm
            losses['loss_centre'] = self.loss_centre(pc, tc, weight=weight[:, None].expand(-1, 2), avg_factor=avg)
        return losses

    def loss(self, x: Union[Tensor, Sequence[Tensor]], data_samples: SampleList) -> Dict[str, Tensor]:
        return self.loss_by_feat(self(x), data_samples)


def _paired_iou(a: Tensor, b: Tensor) -> Tensor:
    """IoU of a[i] with b[i] for (N, 4) boxes."""
    lt = torch.max(a[:, :2], b[:, :2])
    rb = torch.min(a[:, 2:], b[:, 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    area = lambda x: (x[:, 2] - x[:, 0]).clamp(min=0) * (x[:, 3] - x[:, 1]).clamp(min=0)  # noqa: E731
    return inter / (area(a) + area(b) - inter).clamp(min=1e-6)
