"""RON's detection head: objectness prior, class-agnostic boxes and objectness-gated classification.

Paper: Kong et al., "RON: Reverse Connection with Objectness Prior Networks for Object Detection", CVPR 2017,
arXiv:1707.01691. Layer shapes follow ``rpn_cls_score_k``, ``rpn_bbox_pred_k`` and ``det_cls_score_k`` of the
authors' prototxt; targets ``anchor_target_layer.py`` / ``det_target_layer.py``; decoding ``det_layer.py``.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule, build_norm_layer
from mmcv.ops import batched_nms
from mmdet.models.dense_heads.base_dense_head import BaseDenseHead
from mmdet.registry import MODELS, TASK_UTILS
from mmdet.structures.bbox import get_box_tensor
from mmdet.utils import InstanceList, OptInstanceList
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData
from torch import Tensor

from ..registry import register

__all__ = ['RONHead']

_DEFAULT_TRAIN_CFG = dict(
    obj_assigner=dict(type='RONAssigner', pos_iou_thr=0.5, neg_iou_thr=(0.001, 0.3), min_pos_iou=0.1,
                      best_anchor_gt='max_iou'),
    cls_assigner=dict(type='RONAssigner', pos_iou_thr=0.6, neg_iou_thr=0.3, min_pos_iou=0.3, best_anchor_gt='own'),
    allowed_border=(4, 8, 16, 32),
    num_samples=(512, 512, 256, 256),
    neg_pos_ratio=3,
    obj_prior_thr=0.03)
_DEFAULT_TEST_CFG = dict(obj_thr=0.03, score_thr=0.01, nms=dict(type='nms', iou_threshold=0.4), max_per_class=80,
                         min_bbox_size=10, min_aspect_ratio=0.167, max_per_img=-1, nms_pre=-1)


class _InceptionBlock(nn.Module):
    """[3x3 conv || 1x1 conv] -> concat -> norm -> ReLU (RON's ``det_cls_score_k{1,2}`` pair)."""

    def __init__(self, in_channels: int, channels: int, norm_cfg: dict) -> None:
        super().__init__()
        self.conv3x3 = nn.Conv2d(in_channels, channels, 3, padding=1, bias=False)
        self.conv1x1 = nn.Conv2d(in_channels, channels, 1, bias=False)
        self.norm = build_norm_layer(norm_cfg, 2 * channels)[1]
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        return self.relu(self.norm(torch.cat([self.conv3x3(x), self.conv1x1(x)], dim=1)))


@register('MODELS', scopes=['mmdet'])
class RONHead(BaseDenseHead):
    """Per-level (unshared) objectness, class-agnostic box and classification branches of RON.

    Per level: objectness = conv(k) + BN + ReLU -> 3x3 conv to 2A (a 2-way softmax per anchor); boxes = conv(k) +
    BN + ReLU -> 3x3 conv to 4A; classes = ``num_cls_blocks`` x [3x3 || 1x1 conv] + BN + ReLU -> 3x3 conv to
    (C+1)A (softmax, background last). A = 10 anchors from :class:`RONAnchorGenerator`.

    Training, per level (as ``anchor_target_layer.py`` / ``det_target_layer.py``): labels per image, sampling
    over the whole batch. Objectness targets from ``obj_assigner`` (:class:`RONAssigner`: positive IoU >= 0.5 or
    the best anchor of a GT with IoU > 0.1; negative 0.001 < IoU < 0.3; anchors crossing the border by more than
    ``allowed_border`` ignored). The positives of all images are kept (no cap) and the pooled negatives of the
    batch are subsampled to ``neg_pos_ratio`` x the batch's positives, or to ``num_samples`` of the level
    (512/512/256/256) once for the batch when no image has a positive on it. Box targets are the plain deltas
    (``DeltaXYWHBBoxCoder`` with stds 1: the release never reads ``BBOX_NORMALIZE_STDS``). Class targets from
    ``cls_assigner`` (IoU >= 0.6 or the best anchor of a GT with IoU > 0.3: class; < 0.3: background); anchors
    whose detached objectness probability is below ``obj_prior_thr`` (0.03) are ignored (the objectness prior),
    then all positives and ``neg_pos_ratio`` x negatives of the batch are kept the same way. Losses per level:
    softmax CE for objectness (mean over sampled anchors of the batch), SmoothL1 (beta 1/9 = Caffe's sigma 3) on
    the positives' deltas (weight 1/num_sampled of their image, summed and divided by the number of images, as
    Caffe's ``SmoothL1Loss``), softmax CE for classes (mean over kept anchors); 4 levels x 3 terms, weight 1 each.

    Test: keep anchors with objectness > ``obj_thr`` (0.03), decode, rescale, clip, drop boxes with a side below
    ``min_bbox_size`` (10) or an aspect ratio beyond 1 / ``min_aspect_ratio`` (w/h and h/w must be > 0.167, the
    release's ``filter_boxes``; 0 disables it), score = objectness x class probability > ``score_thr`` (0.01),
    per-class NMS (IoU 0.4), at most ``max_per_class`` (80) per class. ``nms_pre`` (-1: off, as in RON) keeps only
    the most object-like anchors before decoding, and ``max_per_img`` (-1: off) caps the total; both are for speed
    only.

    Args:
        num_classes (int): Foreground classes.
        in_channels (int): Channels of every input level. Defaults to 512.
        num_levels (int): Pyramid levels (heads are not shared). Defaults to 4.
        tower_channels (int): Width of the objectness / box towers. Defaults to 512 (REDUCED: 256).
        tower_kernel_size (int): Kernel of the first tower conv. Defaults to 3 (REDUCED: 1).
        cls_channels (int): Width of each branch of the inception blocks. Defaults to 512 (REDUCED: 256).
        num_cls_blocks (int): Inception blocks of the class branch. Defaults to 2.
        norm_cfg (dict): Norm config. Defaults to BN.
        anchor_generator (dict): Defaults to ``RONAnchorGenerator`` with strides (8, 16, 32, 64), base 32.
        bbox_coder (dict): Defaults to ``DeltaXYWHBBoxCoder`` with means 0 and stds 1 (unnormalised deltas).
        loss_obj (dict): Defaults to softmax ``CrossEntropyLoss``.
        loss_bbox (dict): Defaults to ``SmoothL1Loss(beta=1/9)``.
        loss_cls (dict): Defaults to softmax ``CrossEntropyLoss``.
        train_cfg (dict, optional): Keys of ``_DEFAULT_TRAIN_CFG``; missing keys take those defaults.
        test_cfg (dict, optional): Keys of ``_DEFAULT_TEST_CFG``; missing keys take those defaults.
        init_cfg (dict or list[dict], optional): Defaults to normal(std=0.01) for convs (as the release).
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int = 512,
                 num_levels: int = 4,
                 tower_channels: int = 512,
                 tower_kernel_size: int = 3,
                 cls_channels: int = 512,
                 num_cls_blocks: int = 2,
                 norm_cfg: dict = dict(type='BN', requires_grad=True),
                 anchor_generator: dict = dict(type='RONAnchorGenerator', strides=(8, 16, 32, 64), base_size=32),
                 bbox_coder: dict = dict(type='DeltaXYWHBBoxCoder', target_means=(0., 0., 0., 0.),
                                         target_stds=(1., 1., 1., 1.)),
                 loss_obj: dict = dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
                 loss_bbox: dict = dict(type='SmoothL1Loss', beta=1.0 / 9.0, loss_weight=1.0),
                 loss_cls: dict = dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 init_cfg=dict(type='Normal', layer='Conv2d', std=0.01)) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_classes < 1:
            raise ValueError(f'RONHead: num_classes must be >= 1, got {num_classes}')
        if tower_kernel_size % 2 == 0:
            raise ValueError(f'RONHead: tower_kernel_size must be odd, got {tower_kernel_size}')
        if num_cls_blocks < 1:
            raise ValueError(f'RONHead: num_cls_blocks must be >= 1, got {num_cls_blocks}')
        for name, cfg in (('loss_obj', loss_obj), ('loss_cls', loss_cls)):
            if cfg.get('use_sigmoid', False):
                raise ValueError(f'RONHead: {name} must be a softmax loss (use_sigmoid=False), as in RON')
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.num_levels = num_levels
        self.cls_out_channels = num_classes + 1
        if train_cfg is not None and 'pos_fraction' in train_cfg:
            raise ValueError('RONHead: train_cfg.pos_fraction is not used: RON keeps every positive and samples '
                             f'neg_pos_ratio x as many negatives over the batch; remove it (got '
                             f'{train_cfg["pos_fraction"]}) and set neg_pos_ratio (3 = FG_FRACTION 0.25)')
        self.train_cfg = ConfigDict(dict(_DEFAULT_TRAIN_CFG, **(train_cfg or {})))
        self.test_cfg = ConfigDict(dict(_DEFAULT_TEST_CFG, **(test_cfg or {})))
        for key in ('allowed_border', 'num_samples'):
            if len(self.train_cfg[key]) != num_levels:
                raise ValueError(f'RONHead: train_cfg.{key} must have {num_levels} values (one per level), '
                                 f'got {self.train_cfg[key]}')

        self.prior_generator = TASK_UTILS.build(anchor_generator)
        if self.prior_generator.num_levels != num_levels:
            raise ValueError(f'RONHead: anchor_generator has {self.prior_generator.num_levels} levels, '
                             f'num_levels is {num_levels}')
        self.num_base_priors = self.prior_generator.num_base_priors[0]
        self.bbox_coder = TASK_UTILS.build(bbox_coder)
        self.obj_assigner = TASK_UTILS.build(self.train_cfg.obj_assigner)
        self.cls_assigner = TASK_UTILS.build(self.train_cfg.cls_assigner)
        self.loss_obj = MODELS.build(loss_obj)
        self.loss_bbox = MODELS.build(loss_bbox)
        self.loss_cls = MODELS.build(loss_cls)

        a = self.num_base_priors
        pad = tower_kernel_size // 2

        def tower() -> ConvModule:
            return ConvModule(in_channels, tower_channels, tower_kernel_size, padding=pad, norm_cfg=norm_cfg)

        self.obj_towers = nn.ModuleList([tower() for _ in range(num_levels)])
        self.reg_towers = nn.ModuleList([tower() for _ in range(num_levels)])
        self.obj_convs = nn.ModuleList([nn.Conv2d(tower_channels, 2 * a, 3, padding=1) for _ in range(num_levels)])
        self.reg_convs = nn.ModuleList([nn.Conv2d(tower_channels, 4 * a, 3, padding=1) for _ in range(num_levels)])
        self.cls_towers = nn.ModuleList([
            nn.Sequential(*[
                _InceptionBlock(in_channels if i == 0 else 2 * cls_channels, cls_channels, norm_cfg)
                for i in range(num_cls_blocks)
            ]) for _ in range(num_levels)
        ])
        self.cls_convs = nn.ModuleList(
            [nn.Conv2d(2 * cls_channels, self.cls_out_channels * a, 3, padding=1) for _ in range(num_levels)])

    # ------------------------------------------------------------------------------------------------ forward
    def forward(self, x: Sequence[Tensor]) -> Tuple[List[Tensor], List[Tensor], List[Tensor]]:
        """Return per-level ``obj_scores`` (N, 2A, H, W: A background then A object logits), ``bbox_preds``
        (N, 4A, H, W, anchor-major) and ``cls_scores`` (N, (C+1)A, H, W, class-major, background last)."""
        if len(x) != self.num_levels:
            raise ValueError(f'RONHead: expected {self.num_levels} feature levels, got {len(x)}')
        obj_scores, bbox_preds, cls_scores = [], [], []
        for i, feat in enumerate(x):
            if feat.size(1) != self.in_channels:
                raise ValueError(f'RONHead: in_channels={self.in_channels}, but feature level {i} has '
                                 f'{feat.size(1)} channels (shape {tuple(feat.shape)})')
            obj_scores.append(self.obj_convs[i](self.obj_towers[i](feat)))
            bbox_preds.append(self.reg_convs[i](self.reg_towers[i](feat)))
            cls_scores.append(self.cls_convs[i](self.cls_towers[i](feat)))
        return obj_scores, bbox_preds, cls_scores

    def _flatten(self, obj: Tensor, box: Tensor, cls: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """(N, H*W*A, 2), (N, H*W*A, 4), (N, H*W*A, C+1) in the anchor generator's order (anchors innermost)."""
        n, _, h, w = obj.shape
        a = self.num_base_priors
        obj = obj.view(n, 2, a, h, w).permute(0, 3, 4, 2, 1).reshape(n, -1, 2)
        box = box.view(n, a, 4, h, w).permute(0, 3, 4, 1, 2).reshape(n, -1, 4)
        cls = cls.view(n, self.cls_out_channels, a, h, w).permute(0, 3, 4, 2, 1).reshape(n, -1, self.cls_out_channels)
        return obj, box, cls

    # ------------------------------------------------------------------------------------------------ targets
    def _sample_batch(self, labels: Tensor, pos: Tensor, neg: Tensor, budget: int) -> Tensor:
        """Batch-level sampling of one level (``anchor_target_layer.py``, ``det_target_layer.py``).

        Args:
            labels (Tensor): (N, M) labels of the batch; sampled-out negatives are set to -1 in place.
            pos (Tensor): (N, M) bool, the positives (all kept).
            neg (Tensor): (N, M) bool, the negatives.
            budget (int): Negatives kept when the whole batch has no positive.

        Returns:
            Tensor: ``labels``.
        """
        num_pos = int(pos.sum())
        num_neg = self.train_cfg.neg_pos_ratio * num_pos if num_pos > 0 else budget
        neg_idx = neg.flatten().nonzero(as_tuple=False).squeeze(1)
        if neg_idx.numel() > num_neg:
            drop = neg_idx[torch.randperm(neg_idx.numel(), device=neg_idx.device)[:neg_idx.numel() - int(num_neg)]]
            labels.view(-1)[drop] = -1
        return labels

    def _get_targets_single(self, anchors: Tensor, level: int, gt_instances: InstanceData, img_meta: dict,
                            gt_instances_ignore: Optional[InstanceData]) -> Tuple[Tensor, Tensor, Tensor]:
        """Labels of one image on one level, before the batch-level sampling and the objectness gating.

        Returns:
            tuple: ``obj_labels`` (M,) in {-1 ignore, 0, 1}; ``bbox_targets`` (M, 4) (deltas to the anchor's
            assigned GT on objectness positives, else 0); ``cls_labels`` (M,) in {-1 ignore, 0..C-1, C background}.
        """
        cfg = self.train_cfg
        num = anchors.size(0)
        img_h, img_w = img_meta['img_shape'][:2]
        border = cfg.allowed_border[level]
        inside = ((anchors[:, 0] >= -border) & (anchors[:, 1] >= -border) & (anchors[:, 2] < img_w + border) &
                  (anchors[:, 3] < img_h + border))
        inside_idx = inside.nonzero(as_tuple=False).squeeze(1)
        obj_labels = anchors.new_full((num, ), -1, dtype=torch.long)
        cls_labels = anchors.new_full((num, ), -1, dtype=torch.long)
        bbox_targets = anchors.new_zeros((num, 4))
        if inside_idx.numel() == 0:
            return obj_labels, bbox_targets, cls_labels
        gt_instances = InstanceData(bboxes=get_box_tensor(gt_instances.bboxes), labels=gt_instances.labels)
        priors = InstanceData(priors=anchors[inside_idx])

        assigned = self.obj_assigner.assign(priors, gt_instances, gt_instances_ignore).gt_inds
        obj_labels[inside_idx[assigned == 0]] = 0
        pos = (assigned > 0).nonzero(as_tuple=False).squeeze(1)
        obj_labels[inside_idx[pos]] = 1
        if pos.numel() > 0:
            bbox_targets[inside_idx[pos]] = self.bbox_coder.encode(anchors[inside_idx[pos]],
                                                                   gt_instances.bboxes[assigned[pos] - 1])

        assigned = self.cls_assigner.assign(priors, gt_instances, gt_instances_ignore).gt_inds
        cls_labels[inside_idx[assigned == 0]] = self.num_classes
        pos_mask = assigned > 0
        cls_labels[inside_idx[pos_mask]] = gt_instances.labels[assigned[pos_mask] - 1].long()
        return obj_labels, bbox_targets, cls_labels

    def get_level_targets(self, anchors: Tensor, level: int, obj_prob: Tensor, batch_gt_instances: InstanceList,
                          batch_img_metas: List[dict],
                          batch_gt_instances_ignore: OptInstanceList) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        """Sampled targets of one level for the batch.

        Args:
            anchors (Tensor): (M, 4) anchors of the level.
            level (int): Level index (0 = stride 8).
            obj_prob (Tensor): (N, M) detached objectness probabilities (for the objectness prior).

        Returns:
            tuple: ``obj_labels`` (N, M) in {-1, 0, 1} after sampling; ``bbox_targets`` (N, M, 4);
            ``bbox_weights`` (N, M) (1 / the image's number of sampled anchors, on positives); ``cls_labels``
            (N, M) in {-1, 0..C} after gating and sampling.
        """
        if batch_gt_instances_ignore is None:
            batch_gt_instances_ignore = [None] * len(batch_img_metas)
        targets = [
            self._get_targets_single(anchors, level, gt, meta, ign)
            for gt, meta, ign in zip(batch_gt_instances, batch_img_metas, batch_gt_instances_ignore)
        ]
        obj_labels, bbox_targets, cls_labels = (torch.stack(t) for t in zip(*targets))
        budget = int(self.train_cfg.num_samples[level])
        obj_labels = self._sample_batch(obj_labels, obj_labels == 1, obj_labels == 0, budget)
        num_sampled = (obj_labels >= 0).sum(dim=1, keepdim=True).clamp(min=1)
        bbox_weights = (obj_labels == 1).to(bbox_targets.dtype) / num_sampled.to(bbox_targets.dtype)

        cls_labels[obj_prob < self.train_cfg.obj_prior_thr] = -1  # the objectness prior
        cls_labels = self._sample_batch(cls_labels, (cls_labels >= 0) & (cls_labels < self.num_classes),
                                        cls_labels == self.num_classes, budget)
        return obj_labels, bbox_targets, bbox_weights, cls_labels

    # ------------------------------------------------------------------------------------------------ loss
    def loss_by_feat(self,
                     obj_scores: List[Tensor],
                     bbox_preds: List[Tensor],
                     cls_scores: List[Tensor],
                     batch_gt_instances: InstanceList,
                     batch_img_metas: List[dict],
                     batch_gt_instances_ignore: OptInstanceList = None) -> Dict[str, List[Tensor]]:
        """Per-level objectness, box and gated class losses (lists of ``num_levels`` tensors each)."""
        num_imgs = len(batch_img_metas)
        featmap_sizes = [o.shape[-2:] for o in obj_scores]
        anchors = self.prior_generator.grid_priors(featmap_sizes, dtype=obj_scores[0].dtype,
                                                   device=obj_scores[0].device)
        losses_obj, losses_bbox, losses_cls = [], [], []
        for lvl in range(self.num_levels):
            obj, box, cls = self._flatten(obj_scores[lvl], bbox_preds[lvl], cls_scores[lvl])
            with torch.no_grad():
                obj_prob = obj.detach().float().softmax(dim=-1)[..., 1]
            obj_labels, bbox_targets, bbox_weights, cls_labels = self.get_level_targets(
                anchors[lvl], lvl, obj_prob, batch_gt_instances, batch_img_metas, batch_gt_instances_ignore)

            obj_keep = obj_labels >= 0
            losses_obj.append(self.loss_obj(obj[obj_keep], obj_labels[obj_keep],
                                            avg_factor=max(int(obj_keep.sum()), 1)))
            pos = bbox_weights > 0
            losses_bbox.append(self.loss_bbox(box[pos], bbox_targets[pos], weight=bbox_weights[pos, None].expand(-1, 4),
                                              avg_factor=num_imgs))
            cls_keep = cls_labels >= 0
            losses_cls.append(self.loss_cls(cls[cls_keep], cls_labels[cls_keep],
                                            avg_factor=max(int(cls_keep.sum()), 1)))
        return dict(loss_obj=losses_obj, loss_bbox=losses_bbox, loss_cls=losses_cls)

    # ------------------------------------------------------------------------------------------------ predict
    def predict_by_feat(self,
                        obj_scores: List[Tensor],
                        bbox_preds: List[Tensor],
                        cls_scores: List[Tensor],
                        batch_img_metas: List[dict],
                        cfg: Optional[dict] = None,
                        rescale: bool = False,
                        with_nms: bool = True) -> InstanceList:
        """Decode detections: objectness gate, product scores, per-class NMS and per-class cap."""
        cfg = self.test_cfg if cfg is None else ConfigDict(dict(_DEFAULT_TEST_CFG, **cfg))
        featmap_sizes = [o.shape[-2:] for o in obj_scores]
        anchors = torch.cat(self.prior_generator.grid_priors(featmap_sizes, dtype=obj_scores[0].dtype,
                                                             device=obj_scores[0].device))
        flat = [self._flatten(o, b, c) for o, b, c in zip(obj_scores, bbox_preds, cls_scores)]
        obj, box, cls = (torch.cat(t, dim=1) for t in zip(*flat))
        return [
            self._predict_single(obj[i], box[i], cls[i], anchors, meta, cfg, rescale, with_nms)
            for i, meta in enumerate(batch_img_metas)
        ]

    def _predict_single(self, obj: Tensor, box: Tensor, cls: Tensor, anchors: Tensor, img_meta: dict,
                        cfg: ConfigDict, rescale: bool, with_nms: bool) -> InstanceData:
        obj_prob = obj.float().softmax(dim=-1)[:, 1]
        keep = obj_prob > cfg.obj_thr
        obj_prob, box, cls, anchors = obj_prob[keep], box[keep], cls[keep], anchors[keep]
        if 0 < cfg.nms_pre < obj_prob.numel():  # optional (not in RON): the nms_pre most object-like anchors
            top = obj_prob.topk(cfg.nms_pre).indices
            obj_prob, box, cls, anchors = obj_prob[top], box[top], cls[top], anchors[top]
        bboxes = self.bbox_coder.decode(anchors, box, max_shape=img_meta['img_shape'])
        if rescale:
            bboxes = bboxes / bboxes.new_tensor(img_meta['scale_factor']).repeat(2)
            h, w = img_meta['ori_shape'][:2]
            bboxes[:, 0::2] = bboxes[:, 0::2].clamp(0, w)
            bboxes[:, 1::2] = bboxes[:, 1::2].clamp(0, h)
        ws, hs = bboxes[:, 2] - bboxes[:, 0], bboxes[:, 3] - bboxes[:, 1]
        keep = (ws >= cfg.min_bbox_size) & (hs >= cfg.min_bbox_size)
        if cfg.min_aspect_ratio > 0:  # filter_boxes: w / h > min_asp and h / w > min_asp
            keep &= (ws > cfg.min_aspect_ratio * hs) & (hs > cfg.min_aspect_ratio * ws)
        obj_prob, bboxes, cls = obj_prob[keep], bboxes[keep], cls[keep]
        scores = obj_prob[:, None] * cls.float().softmax(dim=-1)[:, :self.num_classes]
        idx, labels = (scores > cfg.score_thr).nonzero(as_tuple=True)
        results = InstanceData(bboxes=bboxes[idx], scores=scores[idx, labels], labels=labels)
        if not with_nms or len(results) == 0:
            return results
        dets, keep = batched_nms(results.bboxes, results.scores, results.labels, cfg.nms)
        results = results[keep]
        results.scores = dets[:, -1]
        if cfg.max_per_class > 0:  # results are sorted by score: keep the first max_per_class of each class
            onehot = torch.nn.functional.one_hot(results.labels, self.num_classes)
            rank = (onehot.cumsum(dim=0) * onehot).sum(dim=1)
            results = results[rank <= cfg.max_per_class]
        if cfg.max_per_img > 0:
            results = results[:cfg.max_per_img]
        return results
