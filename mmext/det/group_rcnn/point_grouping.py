"""Instance-level proposal grouping around annotated points (Group R-CNN, Sec. 3.2).

Group R-CNN (Zhang et al., "Group R-CNN for Point-based Weakly Semi-supervised Object Detection", CVPR 2022,
arXiv:2205.05920). For every point and every FPN level, the ``pre_topk`` feature locations nearest to the point
(location ``(x * s, y * s)``, no half-stride offset, as the release) contribute all their anchors; their
RetinaHead regressions are decoded and scored with the sigmoid score *of the point's class*. One NMS per image
with the class as the NMS index (so groups of the same class suppress each other, as in the release) and the
best ``topk`` survivors per point form the point's group; shorter groups are zero-padded.
"""
from typing import List, Sequence, Tuple

import torch
from mmcv.ops import batched_nms
from torch import Tensor

__all__ = ['PointProposalGrouper', 'location_grid']


def location_grid(featmap_size: Tuple[int, int], stride: int, device, dtype=torch.float32) -> Tensor:
    """Image coordinates ``(x * stride, y * stride)`` of every location of a feature map, shape (h * w, 2)."""
    h, w = featmap_size
    ys, xs = torch.meshgrid(torch.arange(h, device=device, dtype=dtype),
                            torch.arange(w, device=device, dtype=dtype), indexing='ij')
    return torch.stack([xs.reshape(-1), ys.reshape(-1)], dim=-1) * stride


class PointProposalGrouper:
    """Build one group of proposals per annotated point from a RetinaHead's outputs.

    Args:
        pre_topk (int): Nearest locations per point and level. Defaults to 3 (the release's).
        iou_threshold (float): IoU of the per-image, per-class NMS. Defaults to 0.7.
        topk (int): Proposals kept per point (the release's ``rpn_nms_topk``). Defaults to 50.
        max_num (int): Boxes kept by the per-image NMS. Defaults to 1000.
    """

    def __init__(self, pre_topk: int = 3, iou_threshold: float = 0.7, topk: int = 50, max_num: int = 1000) -> None:
        for name, value in (('pre_topk', pre_topk), ('topk', topk), ('max_num', max_num)):
            if int(value) < 1:
                raise ValueError(f'PointProposalGrouper: {name} must be >= 1, got {value}')
        if not 0 < iou_threshold <= 1:
            raise ValueError(f'PointProposalGrouper: iou_threshold must be in (0, 1], got {iou_threshold}')
        self.pre_topk = int(pre_topk)
        self.iou_threshold = float(iou_threshold)
        self.topk = int(topk)
        self.max_num = int(max_num)

    def candidates(self, head, cls_scores: Sequence[Tensor], bbox_preds: Sequence[Tensor], img_id: int,
                   points: Tensor, labels: Tensor, img_shape: Tuple[int, int]) -> Tuple[Tensor, Tensor]:
        """Decoded candidate boxes (n, m, 4) and their scores of the point's class (n, m) for one image."""
        num_points = points.size(0)
        boxes, scores = [], []
        for level, (cls_score, bbox_pred) in enumerate(zip(cls_scores, bbox_preds)):
            cls_score, bbox_pred = cls_score[img_id], bbox_pred[img_id]
            featmap_size = cls_score.shape[-2:]
            stride = head.prior_generator.strides[level][0]
            grid = location_grid(featmap_size, stride, points.device, points.dtype)
            k = min(self.pre_topk, grid.size(0))
            dist = (grid[:, None, :] - points[None, :, :]).pow(2).sum(-1)
            loc_idx = dist.topk(k, dim=0, largest=False).indices.t()  # (n, k)
            num_anchors = head.num_base_priors
            prior_idx = (loc_idx[..., None] * num_anchors +
                         torch.arange(num_anchors, device=points.device)).reshape(-1)  # (n * k * A)
            priors = head.prior_generator.sparse_priors(prior_idx, featmap_size, level, points.dtype, points.device)
            cls_score = cls_score.permute(1, 2, 0).reshape(-1, head.cls_out_channels)[prior_idx]
            bbox_pred = bbox_pred.permute(1, 2, 0).reshape(-1, 4)[prior_idx]
            prob = cls_score.sigmoid() if head.use_sigmoid_cls else cls_score.softmax(-1)
            point_labels = labels[:, None].expand(num_points, k * num_anchors).reshape(-1)
            scores.append(prob.gather(1, point_labels[:, None]).view(num_points, -1))
            decoded = head.bbox_coder.decode(priors, bbox_pred, max_shape=img_shape)
            boxes.append(decoded.view(num_points, -1, 4))
        return torch.cat(boxes, dim=1), torch.cat(scores, dim=1)

    def select(self, boxes: Tensor, scores: Tensor, labels: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """NMS per image and class, then the best ``topk`` survivors of each point.

        Args:
            boxes (Tensor): Candidates (n, m, 4). scores (Tensor): (n, m). labels (Tensor): Point classes (n, ).

        Returns:
            tuple: ``boxes`` (n, topk, 4), ``scores`` (n, topk) and ``valid`` (n, topk) bool; padded entries are
            zero boxes with score 0 and ``valid`` False.
        """
        n, m = scores.shape
        out_boxes = boxes.new_zeros(n, self.topk, 4)
        out_scores = scores.new_zeros(n, self.topk)
        valid = torch.zeros(n, self.topk, dtype=torch.bool, device=boxes.device)
        if n == 0 or m == 0:
            return out_boxes, out_scores, valid
        idxs = labels[:, None].expand(n, m).reshape(-1)
        dets, keep = batched_nms(boxes.reshape(-1, 4), scores.reshape(-1).contiguous(), idxs,
                                 dict(type='nms', iou_threshold=self.iou_threshold, max_num=self.max_num))
        owner = keep // m  # kept boxes are in descending score order
        order = torch.sort(owner, stable=True).indices
        owner_sorted = owner[order]
        first = torch.searchsorted(owner_sorted, owner_sorted, right=False)
        rank = torch.arange(owner_sorted.numel(), device=boxes.device) - first
        take = rank < self.topk
        sel_owner, sel_rank, sel = owner_sorted[take], rank[take], order[take]
        out_boxes[sel_owner, sel_rank] = dets[sel, :4]
        out_scores[sel_owner, sel_rank] = dets[sel, 4]
        valid[sel_owner, sel_rank] = True
        return out_boxes, out_scores, valid

    @torch.no_grad()
    def __call__(self, head, cls_scores: Sequence[Tensor], bbox_preds: Sequence[Tensor], batch_points: List[Tensor],
                 batch_labels: List[Tensor], batch_img_metas: List[dict]) -> List[Tuple[Tensor, Tensor, Tensor]]:
        """Groups of every image: a list of ``(boxes (n, topk, 4), scores (n, topk), valid (n, topk))``."""
        results = []
        for img_id, (points, labels, meta) in enumerate(zip(batch_points, batch_labels, batch_img_metas)):
            points = points.to(cls_scores[0].dtype)
            if points.size(0) == 0:
                results.append(self.select(points.new_zeros(0, 0, 4), points.new_zeros(0, 0), labels))
                continue
            boxes, scores = self.candidates(head, cls_scores, bbox_preds, img_id, points, labels,
                                            meta['img_shape'])
            results.append(self.select(boxes, scores, labels))
        return results
