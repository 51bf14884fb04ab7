"""The cascade RoI head of Group R-CNN with instance-aware feature enhancement and parameter generation.

Group R-CNN (Zhang et al., "Group R-CNN for Point-based Weakly Semi-supervised Object Detection", CVPR 2022,
arXiv:2205.05920), Sec. 3.3, with the release's (jshilong/GroupRCNN) settings:

* **instance-aware feature enhancement**: for every point a 2-channel map ``(point - location) / stride`` per FPN
  level is RoI-aligned with the same boxes as the features (RoI batch index = instance), concatenated (C + 2) and
  compressed by a 3x3 conv back to C channels;
* **instance-aware parameter generation**: per instance, the mean over its group of the average-pooled RoI features
  concatenated with a class embedding -> Linear(2C, C) -> a per-stage Linear(C, C * C) gives a 1x1 convolution
  applied to all RoIs of that group, then GroupNorm + ReLU before the stage's ``Shared2FCBBoxHead``;
* **instance-level assignment** (:class:`InstanceLevelAssigner`), 3 stages with loss weights 1 / 0.5 / 0.25 and
  IoU thresholds 0.5 / 0.6 / 0.7; CE averaged by the number of positives, as the release;
* **test**: class scores averaged over the stages, boxes of the last stage, score of the point's class, NMS per
  class (0.5), then exactly one box per point: its best surviving box (or, if NMS removed its whole group, its best
  box; the release would then return another point's box).
"""
import copy
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.ops import batched_nms
from mmdet.models.losses import accuracy
from mmdet.models.roi_heads import CascadeRoIHead
from mmengine.structures import InstanceData
from torch import Tensor

from ...registry import register
from .instance_assigner import InstanceLevelAssigner
from .point_grouping import location_grid

__all__ = ['GroupRoIHead']

#: one image's groups: boxes (n, k, 4), scores (n, k), valid (n, k)
Group = Tuple[Tensor, Tensor, Tensor]


@register('MODELS', scopes=['mmdet'])
class GroupRoIHead(CascadeRoIHead):
    """Cascade RoI head over per-point proposal groups.

    Args:
        num_classes (int): Number of object classes (class-embedding rows; the bbox heads must agree).
        pos_iou_thrs (Sequence[float]): Positive IoU threshold of each stage. Defaults to (0.5, 0.6, 0.7).
        nms_iou_threshold (float): Test NMS IoU (the release's ``roi_iou_threshold``). Defaults to 0.5.
        norm_groups (int): Groups of the GroupNorm after the dynamic conv. Defaults to 32.
        stage_target_stds (Sequence[Sequence[float]], optional): With one ``bbox_head`` dict, build one head per
            stage with these ``bbox_coder.target_stds`` (release: (0.1, 0.1, 0.2, 0.2), (0.05, 0.05, 0.1, 0.1),
            (0.033, 0.033, 0.067, 0.067)). Defaults to None (``bbox_head`` as CascadeRoIHead takes it).
        **kwargs: :class:`mmdet.models.roi_heads.CascadeRoIHead`'s arguments (``num_stages``,
            ``stage_loss_weights``, ``bbox_roi_extractor``, ``bbox_head``); masks and ``train_cfg`` are not used.
    """

    def __init__(self, num_classes: int, pos_iou_thrs: Sequence[float] = (0.5, 0.6, 0.7),
                 nms_iou_threshold: float = 0.5, norm_groups: int = 32,
                 stage_target_stds: Optional[Sequence[Sequence[float]]] = None, **kwargs) -> None:
        if kwargs.get('mask_head') is not None:
            raise ValueError('GroupRoIHead: mask_head is not supported (Group R-CNN predicts boxes only)')
        if stage_target_stds is not None:
            head = kwargs.get('bbox_head')
            if not isinstance(head, dict) or len(stage_target_stds) != kwargs.get('num_stages'):
                raise ValueError('GroupRoIHead: stage_target_stds needs a single bbox_head dict and one entry per '
                                 f'stage, got bbox_head={type(head).__name__} and {len(stage_target_stds)} entries')
            kwargs['bbox_head'] = [
                dict(head, bbox_coder=dict(head.get('bbox_coder', dict(type='DeltaXYWHBBoxCoder')),
                                           target_stds=list(stds))) for stds in stage_target_stds]
        super().__init__(**kwargs)
        if len(pos_iou_thrs) != self.num_stages:
            raise ValueError(f'GroupRoIHead: pos_iou_thrs needs one value per stage ({self.num_stages}), '
                             f'got {list(pos_iou_thrs)}')
        for i, head in enumerate(self.bbox_head):
            if head.num_classes != num_classes:
                raise ValueError(f'GroupRoIHead: bbox_head[{i}].num_classes={head.num_classes} != '
                                 f'num_classes={num_classes}')
            if getattr(head.loss_cls, 'use_sigmoid', False):
                raise ValueError(f'GroupRoIHead: bbox_head[{i}] must use a softmax classifier (the release\'s '
                                 f'CrossEntropyLoss(use_sigmoid=False))')
        self.num_classes = num_classes
        self.nms_iou_threshold = nms_iou_threshold
        self.assigners = [InstanceLevelAssigner(t) for t in pos_iou_thrs]
        extractor = self.bbox_roi_extractor[0]
        channels = extractor.out_channels
        if channels % norm_groups:
            raise ValueError(f'GroupRoIHead: norm_groups={norm_groups} must divide the RoI channels {channels}')
        self.feat_channels = channels
        # the relative-coordinate maps are pooled like the features (same levels), with 2 channels
        self.coord_roi_extractor = copy.deepcopy(extractor)
        self.coord_roi_extractor.out_channels = 2
        self.compress_feat = nn.Conv2d(channels + 2, channels, 3, padding=1)
        self.cls_embedding = nn.Embedding(num_classes, channels)
        self.compress = nn.Linear(2 * channels, channels)
        self.generate_params = nn.ModuleList([nn.Linear(channels, channels * channels)
                                              for _ in range(self.num_stages)])
        self.group_norm = nn.GroupNorm(norm_groups, channels)

    def init_assigner_sampler(self) -> None:
        """No sampler: every RoI of every group is used (instance-level assignment, see ``assigners``)."""
        self.bbox_assigner, self.bbox_sampler = [], []

    # ------------------------------------------------------------------ building blocks
    def coordinate_maps(self, x: Sequence[Tensor], points: Tensor) -> List[Tensor]:
        """Per level, the (N, 2, h, w) maps ``(point - (x * s, y * s)) / s`` of all N points of the batch."""
        maps = []
        strides = self.coord_roi_extractor.featmap_strides
        for feat, stride in zip(x[:len(strides)], strides):
            h, w = feat.shape[-2:]
            grid = location_grid((h, w), stride, feat.device, feat.dtype)  # (h * w, 2)
            rel = (points[:, None, :].to(feat.dtype) - grid[None]) / stride
            maps.append(rel.view(-1, h, w, 2).permute(0, 3, 1, 2).contiguous())
        return maps

    def _stage_forward(self, stage: int, x: Sequence[Tensor], coord_maps: List[Tensor], boxes: Tensor,
                       inst_img: Tensor, labels: Tensor) -> Tuple[Tensor, Tensor]:
        """Scores and regressions of the (N, k) RoIs ``boxes`` of one stage, both flattened to N * k rows."""
        num_inst, k = boxes.shape[:2]
        flat = boxes.reshape(-1, 4)
        inst_idx = torch.arange(num_inst, device=boxes.device).repeat_interleave(k)
        extractor = self.bbox_roi_extractor[stage]
        img_rois = torch.cat([inst_img[inst_idx, None].to(flat.dtype), flat], dim=1)
        feats = extractor(x[:extractor.num_inputs], img_rois)
        inst_rois = torch.cat([inst_idx[:, None].to(flat.dtype), flat], dim=1)
        coords = self.coord_roi_extractor(coord_maps[:self.coord_roi_extractor.num_inputs], inst_rois)
        feats = self.compress_feat(torch.cat([feats, coords], dim=1))
        c, s = feats.shape[1], feats.shape[-1]
        feats = feats.view(num_inst, k, c, s, s)
        group_feat = feats.mean(dim=(1, 3, 4))  # mean over the group of the average-pooled RoI features
        inst_feat = self.compress(torch.cat([self.cls_embedding(labels), group_feat], dim=-1))
        weight = self.generate_params[stage](inst_feat).view(num_inst, c, c)  # (out, in) per instance
        feats = torch.einsum('nkchw,ndc->nkdhw', feats, weight).reshape(num_inst * k, c, s, s)
        feats = F.relu(self.group_norm(feats))
        return self.bbox_head[stage](feats)

    @staticmethod
    def _gather(groups: Sequence[Group], batch_points: Sequence[Tensor],
                batch_labels: Sequence[Tensor]) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
        boxes = torch.cat([g[0] for g in groups])
        valid = torch.cat([g[2] for g in groups])
        points = torch.cat(list(batch_points)).to(boxes.dtype)
        labels = torch.cat(list(batch_labels)).long()
        inst_img = torch.cat([torch.full((len(p), ), i, dtype=torch.long, device=boxes.device)
                              for i, p in enumerate(batch_points)])
        return boxes, valid, points, labels, inst_img

    def _select_pred(self, stage: int, bbox_pred: Tensor, labels: Tensor) -> Tensor:
        head = self.bbox_head[stage]
        if head.reg_class_agnostic:
            return bbox_pred.view(-1, 4)
        return bbox_pred.view(bbox_pred.size(0), -1, 4)[torch.arange(bbox_pred.size(0)), labels.clamp(
            max=self.num_classes - 1)]

    # ------------------------------------------------------------------ training
    def loss(self, x: Sequence[Tensor], groups: Sequence[Group], batch_gt_instances: Sequence[InstanceData]) -> Dict:
        """Cascade losses over the groups; ``batch_gt_instances`` carry ``bboxes``, ``labels`` and ``points``."""
        points = [g.points for g in batch_gt_instances]
        gt_labels = [g.labels for g in batch_gt_instances]
        gt_boxes = torch.cat([g.bboxes.tensor if hasattr(g.bboxes, 'tensor') else g.bboxes
                              for g in batch_gt_instances])
        boxes, _, points, labels, inst_img = self._gather(groups, points, gt_labels)
        losses = dict()
        if boxes.size(0) == 0:  # no instance in the batch: zero losses that still reach every parameter
            zero = sum(p.sum() for p in self.parameters() if p.requires_grad) * 0.
            for stage in range(self.num_stages):
                losses.update({f's{stage}.loss_cls': zero, f's{stage}.loss_bbox': zero})
            return losses
        k = boxes.size(1)
        coord_maps = self.coordinate_maps(x, points)
        own_gt = gt_boxes.to(boxes.dtype).repeat_interleave(k, dim=0)
        own_labels = labels.repeat_interleave(k)
        for stage in range(self.num_stages):
            head, weight = self.bbox_head[stage], self.stage_loss_weights[stage]
            flat = boxes.reshape(-1, 4).detach()
            cls_score, bbox_pred = self._stage_forward(stage, x, coord_maps, boxes.detach(), inst_img, labels)
            roi_labels, pos, _ = self.assigners[stage].assign(flat, own_gt, own_labels, self.num_classes)
            num_pos = pos.sum()
            avg = max(float(num_pos), 1.)
            losses[f's{stage}.loss_cls'] = weight * head.loss_cls(
                cls_score, roi_labels, torch.ones_like(roi_labels, dtype=cls_score.dtype), avg_factor=avg)
            losses[f's{stage}.acc'] = accuracy(cls_score, roi_labels)
            pred = self._select_pred(stage, bbox_pred, own_labels)  # the instance's class (= label of positives)
            if num_pos > 0:
                if head.reg_decoded_bbox:
                    pos_pred = head.bbox_coder.decode(flat[pos], pred[pos])
                    target = own_gt[pos]
                else:
                    pos_pred, target = pred[pos], head.bbox_coder.encode(flat[pos], own_gt[pos])
                losses[f's{stage}.loss_bbox'] = weight * head.loss_bbox(pos_pred, target, avg_factor=avg)
            else:
                losses[f's{stage}.loss_bbox'] = bbox_pred.sum() * 0.
            if stage < self.num_stages - 1:
                with torch.no_grad():
                    boxes = head.bbox_coder.decode(flat, pred).view_as(boxes)
        return losses

    # ------------------------------------------------------------------ inference
    def _refine_all(self, x: Sequence[Tensor], groups: Sequence[Group], batch_points: Sequence[Tensor],
                    batch_labels: Sequence[Tensor], batch_img_metas: Sequence[dict]):
        """Run every stage; yields per stage (cls_score, bbox_pred, decoded boxes (N, k, 4))."""
        boxes, valid, points, labels, inst_img = self._gather(groups, batch_points, batch_labels)
        coord_maps = self.coordinate_maps(x, points)
        k = boxes.size(1)
        shapes = boxes.new_tensor([m['img_shape'][:2] for m in batch_img_metas])  # (B, 2) as (h, w)
        roi_wh = shapes[inst_img].flip(1).repeat(1, 2).repeat_interleave(k, dim=0)  # (R, 4): w, h, w, h
        for stage in range(self.num_stages):
            cls_score, bbox_pred = self._stage_forward(stage, x, coord_maps, boxes, inst_img, labels)
            pred = self._select_pred(stage, bbox_pred, labels.repeat_interleave(k))
            decoded = self.bbox_head[stage].bbox_coder.decode(boxes.reshape(-1, 4), pred)
            decoded = torch.minimum(decoded.clamp(min=0), roi_wh)  # clip to each image
            yield cls_score, bbox_pred, decoded.view_as(boxes), valid, labels, inst_img
            boxes = decoded.view_as(boxes)

    def forward(self, x: Sequence[Tensor], groups: Sequence[Group], batch_points: Sequence[Tensor],
                batch_labels: Sequence[Tensor], batch_img_metas: Sequence[dict]) -> tuple:
        """``tensor`` mode: (cls_score, bbox_pred) of every stage."""
        return tuple((cls, reg) for cls, reg, *_ in self._refine_all(x, groups, batch_points, batch_labels,
                                                                     batch_img_metas))

    def predict(self, x: Sequence[Tensor], groups: Sequence[Group], batch_points: Sequence[Tensor],
                batch_labels: Sequence[Tensor], batch_img_metas: Sequence[dict]) -> List[InstanceData]:
        """Exactly one box per point (in the network input's coordinates), scored with the point's class."""
        num_inst = sum(len(p) for p in batch_points)
        results = [InstanceData(bboxes=x[0].new_zeros(len(p), 4), scores=x[0].new_zeros(len(p)),
                                labels=torch.as_tensor(l, device=x[0].device).long())
                   for p, l in zip(batch_points, batch_labels)]
        if num_inst == 0:
            return results
        prob_sum = None
        for cls_score, _, boxes, valid, labels, inst_img in self._refine_all(x, groups, batch_points, batch_labels,
                                                                              batch_img_metas):
            prob = F.softmax(cls_score, dim=-1)[:, :self.num_classes]
            prob_sum = prob if prob_sum is None else prob_sum + prob
        k = boxes.size(1)
        prob = (prob_sum / self.num_stages).view(num_inst, k, self.num_classes)
        scores = prob.gather(2, labels[:, None, None].expand(num_inst, k, 1)).squeeze(-1)
        scores = torch.where(valid, scores, scores.new_full((), -1.))  # zero-padding never wins
        start = 0
        for img_id, points in enumerate(batch_points):
            n = len(points)
            if n == 0:
                continue
            sl = slice(start, start + n)
            start += n
            best = self._one_box_per_point(boxes[sl], scores[sl], labels[sl])
            results[img_id].bboxes = boxes[sl][torch.arange(n), best]
            results[img_id].scores = scores[sl][torch.arange(n), best].clamp(min=0)
        return results

    def _one_box_per_point(self, boxes: Tensor, scores: Tensor, labels: Tensor) -> Tensor:
        """Index (n, ) in each group of its best box surviving the per-class NMS (its best box if none)."""
        n, k = scores.shape
        _, keep = batched_nms(boxes.reshape(-1, 4), scores.reshape(-1).contiguous(),
                              labels[:, None].expand(n, k).reshape(-1),
                              dict(type='nms', iou_threshold=self.nms_iou_threshold))
        best = scores.argmax(dim=1)
        owner, pos = keep // k, keep % k
        # keep is in descending score order: the first kept box of each owner is its best survivor
        first = torch.full((n, ), keep.numel(), dtype=torch.long, device=keep.device)
        first.scatter_reduce_(0, owner, torch.arange(keep.numel(), device=keep.device), reduce='amin')
        has = first < keep.numel()
        best[has] = pos[first[has]]
        return best
