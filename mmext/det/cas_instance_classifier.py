"""Instance-level classifier for CASNet: the semantic branch's features pooled over each instance's box and mask."""
from typing import Dict, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.ops import roi_align
from torch import Tensor

from ..registry import register

__all__ = ['CASInstanceClassifier', 'cell_boxes', 'pool_instances']


def cell_boxes(label_maps: Tensor, num: int, stride: int) -> Tensor:
    """Tight boxes, in input pixels, of the cells of each instance of a label map.

    Args:
        label_maps (Tensor): (B, h, w) long, a global instance index ``0..num-1`` per cell or -1 for none; cell
            (i, j) covers input pixels ``[j*stride, (j+1)*stride) x [i*stride, (i+1)*stride)``.
        num (int): Number of instances.
        stride (int): Input pixels per cell.

    Returns:
        Tensor: (num, 4) boxes ``x1, y1, x2, y2`` (``[0, 0, 0, 0]`` for an instance without cells).
    """
    _, h, w = label_maps.shape
    dev = label_maps.device
    ids = label_maps.reshape(-1)
    valid = ids >= 0
    ids = ids[valid]
    xs = torch.arange(w, device=dev).expand_as(label_maps[0]).reshape(-1).repeat(label_maps.shape[0])[valid]
    ys = torch.arange(h, device=dev)[:, None].expand(h, w).reshape(-1).repeat(label_maps.shape[0])[valid]
    lo = torch.full((num, 2), max(h, w), dtype=torch.long, device=dev)
    hi = torch.full((num, 2), -1, dtype=torch.long, device=dev)
    xy = torch.stack([xs, ys], dim=1)
    lo = lo.scatter_reduce(0, ids[:, None].expand(-1, 2), xy, reduce='amin')
    hi = hi.scatter_reduce(0, ids[:, None].expand(-1, 2), xy, reduce='amax')
    boxes = torch.cat([lo, hi + 1], dim=1).float() * stride
    return torch.where((hi >= 0).all(1, keepdim=True), boxes, torch.zeros_like(boxes))


def pool_instances(feats: Tensor, label_maps: Tensor, boxes: Tensor, batch_idx: Tensor, roi_size: int,
                   stride: int) -> Dict[str, Tensor]:
    """Per-instance pooled features: RoIAlign over a box, the mask's occupancy of the same bins, the mask mean.

    Args:
        feats (Tensor): (B, C, h, w) features at ``stride``.
        label_maps (Tensor): (B, h, w) long, the instance index ``0..N-1`` owning each cell or -1 (the instance's
            mask; instance n is only looked for in image ``batch_idx[n]``).
        boxes (Tensor): (M, 4) boxes ``x1, y1, x2, y2`` in input pixels, each pooled for instance ``inst[m]``.
        batch_idx (Tensor): (N,) image of each instance.
        roi_size (int): Bins per box side.
        stride (int): Input pixels per cell.

    Returns:
        dict: ``roi`` (M, C, roi_size, roi_size): mmcv ``roi_align`` (``aligned=True``, 2x2 bilinear samples per
        bin, so feature cell j is centred at input pixel ``(j + 0.5) * stride``) of ``feats`` over each box;
        ``occupancy`` (M, 1, roi_size, roi_size): the same pooling of the instance's 0/1 cell mask;
        ``mask_mean`` (N, C): the mean of ``feats`` over the instance's cells (zeros without cells).
        The box rows map to instances through ``boxes``' order: box m belongs to instance ``m % N``.
    """
    b, c, h, w = feats.shape
    n = batch_idx.numel()
    m = boxes.shape[0]
    if n == 0 or m == 0:
        zero = feats.new_zeros
        return dict(roi=zero((m, c, roi_size, roi_size)), occupancy=zero((m, 1, roi_size, roi_size)),
                    mask_mean=zero((n, c)))
    inst = torch.arange(m, device=feats.device) % n
    rois = torch.cat([batch_idx[inst, None].to(boxes.dtype), boxes], dim=1)
    roi = roi_align(feats, rois.to(feats.dtype), (roi_size, roi_size), 1.0 / stride, 2, 'avg', True)
    masks = (label_maps[batch_idx] == torch.arange(n, device=feats.device)[:, None, None]).to(feats.dtype)
    mask_rois = torch.cat([inst[:, None].to(boxes.dtype), boxes], dim=1)
    occupancy = roi_align(masks[:, None], mask_rois.to(feats.dtype), (roi_size, roi_size), 1.0 / stride, 2, 'avg',
                          True)
    ids = label_maps.reshape(-1)
    valid = ids >= 0
    flat = feats.permute(0, 2, 3, 1).reshape(-1, c)[valid]
    sums = feats.new_zeros((n, c)).index_add_(0, ids[valid], flat)
    counts = torch.bincount(ids[valid], minlength=n).clamp(min=1).to(feats.dtype)
    return dict(roi=roi, occupancy=occupancy, mask_mean=sums / counts[:, None])


@register('MODELS', scopes=['mmdet'])
class CASInstanceClassifier(nn.Module):
    """Class of each CASNet instance from the semantic branch's features pooled over the whole instance.

    The per-pixel semantic class averaged over a cluster is weak on Shapes (a pixel of a uniformly coloured shape
    must infer the outline from context), whereas Mask R-CNN classifies features pooled over the whole box. This
    head does the same on the semantic branch's fused stride-4 features, after the clustering: for each instance it
    pools (:func:`pool_instances`) the projected features over the instance's box (``roi_size x roi_size`` bins),
    optionally the mask's occupancy of the same bins (``with_occupancy``, the outline) and the features' mean over
    the mask (``with_mask_mean``), and maps them with two fully connected layers to ``num_things`` logits.

    Training uses the ground-truth instances: the mask is the set of cells each instance owns (the attribute
    targets' rule), the box the tight box of those cells (:func:`cell_boxes`, the rule used at inference) plus
    ``num_jitter`` randomly shifted / scaled copies (``jitter``, a fraction of the box size), so the head sees the
    imprecise boxes of the clusters. Inference uses each cluster's cells and their tight box.

    Args:
        in_channels (int): Channels of the features (the semantic head's ``inner_channels``).
        num_things (int): Thing classes.
        roi_size (int): Bins per box side. Defaults to 7.
        channels (int): Channels after the 1x1 projection that precedes pooling. Defaults to 32.
        fc_channels (int): Width of the two hidden fully connected layers. Defaults to 128.
        with_occupancy (bool): Also pool the instance's 0/1 mask over the box bins. Defaults to True.
        with_mask_mean (bool): Also feed the features' mean over the mask. Defaults to True.
        num_jitter (int): Jittered box copies per instance in training. Defaults to 1.
        jitter (float): Largest shift of the box centre and log-scale change of its sides, as a fraction of the
            box size. Defaults to 0.1.
        loss_weight (float): Weight of the cross-entropy. Defaults to 1.0.
        stride (int): Stride of the features. Defaults to 4.
    """

    def __init__(self, in_channels: int, num_things: int, roi_size: int = 7, channels: int = 32,
                 fc_channels: int = 128, with_occupancy: bool = True, with_mask_mean: bool = True,
                 num_jitter: int = 1, jitter: float = 0.1, loss_weight: float = 1.0, stride: int = 4) -> None:
        super().__init__()
        for key, val in (('in_channels', in_channels), ('num_things', num_things), ('roi_size', roi_size),
                         ('channels', channels), ('fc_channels', fc_channels), ('stride', stride)):
            if not isinstance(val, int) or val < 1:
                raise ValueError(f'CASInstanceClassifier: {key} must be a positive int, got {val!r}')
        if not isinstance(num_jitter, int) or num_jitter < 0:
            raise ValueError(f'CASInstanceClassifier: num_jitter must be an int >= 0, got {num_jitter!r}')
        if not 0 <= jitter < 1:
            raise ValueError(f'CASInstanceClassifier: jitter must be in [0, 1), got {jitter!r}')
        self.roi_size, self.stride = roi_size, stride
        self.with_occupancy, self.with_mask_mean = with_occupancy, with_mask_mean
        self.num_jitter, self.jitter, self.loss_weight = num_jitter, float(jitter), float(loss_weight)
        self.proj = nn.Sequential(nn.Conv2d(in_channels, channels, 1), nn.ReLU(inplace=True))
        dim = (channels + int(with_occupancy)) * roi_size**2 + channels * int(with_mask_mean)
        self.fcs = nn.Sequential(nn.Linear(dim, fc_channels), nn.ReLU(inplace=True),
                                 nn.Linear(fc_channels, fc_channels), nn.ReLU(inplace=True))
        self.cls = nn.Linear(fc_channels, num_things)
        nn.init.normal_(self.cls.weight, std=0.01)
        nn.init.zeros_(self.cls.bias)

    def forward(self, feats: Tensor, label_maps: Tensor, boxes: Tensor, batch_idx: Tensor) -> Tensor:
        """Logits (M, num_things) of the M boxes (box m belongs to instance ``m % N``, see :func:`pool_instances`).

        Args:
            feats (Tensor): (B, in_channels, h, w) semantic features.
            label_maps (Tensor): (B, h, w) instance index per cell or -1.
            boxes (Tensor): (M, 4) boxes in input pixels, M a multiple of N.
            batch_idx (Tensor): (N,) image of each instance.
        """
        pooled = pool_instances(self.proj(feats), label_maps, boxes, batch_idx, self.roi_size, self.stride)
        parts = [pooled['roi']]
        if self.with_occupancy:
            parts.append(pooled['occupancy'])
        x = torch.cat(parts, dim=1).flatten(1)
        if self.with_mask_mean:
            n = batch_idx.numel()
            x = torch.cat([x, pooled['mask_mean'].repeat(boxes.shape[0] // max(n, 1), 1)], dim=1)
        return self.cls(self.fcs(x))

    def jitter_boxes(self, boxes: Tensor) -> Tensor:
        """``boxes`` followed by ``num_jitter`` copies with centre shifts and log-scale changes in +-``jitter``."""
        out = [boxes]
        size = (boxes[:, 2:] - boxes[:, :2]).clamp(min=1)
        ctr = (boxes[:, 2:] + boxes[:, :2]) / 2
        for _ in range(self.num_jitter):
            shift = (torch.rand_like(ctr) * 2 - 1) * self.jitter * size
            scale = torch.exp((torch.rand_like(size) * 2 - 1) * self.jitter)
            half = size * scale / 2
            out.append(torch.cat([ctr + shift - half, ctr + shift + half], dim=1))
        return torch.cat(out)

    def loss(self, feats: Tensor, owner: Tensor, labels: Tensor, batch_idx: Tensor) -> Dict[str, Tensor]:
        """Cross-entropy on the ground-truth instances.

        Args:
            feats (Tensor): (B, C, h, w) semantic features.
            owner (Tensor): (B, h, w) global index of the ground-truth instance owning each cell, or -1.
            labels (Tensor): (N,) thing class of each instance of the batch.
            batch_idx (Tensor): (N,) image of each instance.
        """
        n = labels.numel()
        boxes = cell_boxes(owner, n, self.stride)
        has_cells = (boxes[:, 2:] > boxes[:, :2]).all(1)
        if not bool(has_cells.any()):  # no instance owns a cell: a zero loss that still reaches every parameter
            zero = feats.sum() * 0 + sum(p.sum() for p in self.parameters()) * 0
            return dict(loss_inst_cls=zero)
        keep = torch.nonzero(has_cells, as_tuple=False).squeeze(1)
        remap = torch.full((n + 1, ), -1, dtype=torch.long, device=owner.device)
        remap[keep] = torch.arange(keep.numel(), device=owner.device)  # remap[n] = -1 for unowned cells
        owner = remap[torch.where(owner >= 0, owner, torch.full_like(owner, n))]
        boxes = self.jitter_boxes(boxes[keep]) if self.training else boxes[keep]
        logits = self(feats, owner, boxes, batch_idx[keep])
        target = labels[keep].repeat(boxes.shape[0] // keep.numel())
        return dict(loss_inst_cls=self.loss_weight * F.cross_entropy(logits, target))

    def predict(self, feats: Tensor, label_map: Tensor, num: int) -> Tuple[Tensor, Tensor]:
        """Class probabilities of the ``num`` clusters of one image.

        Args:
            feats (Tensor): (1, C, h, w) semantic features of the image.
            label_map (Tensor): (h, w) long, 0 for none and k = 1..num for cluster k.
            num (int): Number of clusters.

        Returns:
            tuple: (num, num_things) probabilities and (num, 4) the tight boxes of the clusters' cells.
        """
        owner = (label_map - 1)[None]
        boxes = cell_boxes(owner, num, self.stride)
        if num == 0:
            return feats.new_zeros((0, self.cls.out_features)), boxes
        batch_idx = torch.zeros(num, dtype=torch.long, device=feats.device)
        return self(feats, owner, boxes, batch_idx).softmax(dim=1), boxes

    def extra_repr(self) -> str:
        return (f'roi_size={self.roi_size}, stride={self.stride}, with_occupancy={self.with_occupancy}, '
                f'with_mask_mean={self.with_mask_mean}, num_jitter={self.num_jitter}, jitter={self.jitter}')
