"""HyperNet's region proposal module: RoI-pooled initial boxes scored by a small conv + FC network.

Paper: Kong, Yao, Chen, Sun, "HyperNet: Towards Accurate Region Proposal Generation and Joint Object Detection",
CVPR 2016, arXiv:1604.00600, Sec. 3.2 (proposal module) and Sec. 3.4 (HyperNet-SP).
"""
import math
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.ops import batched_nms
from mmdet.models.task_modules.prior_generators import anchor_inside_flags
from mmdet.registry import MODELS, TASK_UTILS
from mmdet.structures.bbox import get_box_wh, scale_boxes
from mmengine.config import ConfigDict
from mmengine.model import BaseModule
from mmengine.structures import InstanceData
from torch import Tensor

from ...registry import register

__all__ = ['HyperNetRPNHead']


@register('MODELS', scopes=['mmdet'])
class HyperNetRPNHead(BaseModule):
    """The HyperNet region proposal module (not a dense RPN).

    ~30k initial boxes of several scales and aspect ratios (mmdet's ``AnchorGenerator`` on a grid of
    ``anchor_generator.strides``) are RoI-pooled (13x13) from the single-scale Hyper Feature, passed through a 3x3
    conv (4 channels, ReLU) and an FC (256, ReLU), and scored by sibling layers: objectness (2-way softmax) and box
    regression (4). Proposals: decode, clip, drop tiny boxes, keep the ``nms_pre`` best, NMS at 0.7 and the top
    ``max_per_img`` (100 at test in the paper).

    ``conv_before_pool=True`` is HyperNet-SP: the 3x3 conv runs once on the whole map and RoI pooling reads its
    4-channel output, so pooling costs 4 instead of ``in_channels`` channels per box. Both variants have the same
    parameters (same names and shapes), so a checkpoint of one loads into the other.

    Scoring every initial box is done in chunks of ``chunk_size`` boxes under ``no_grad`` (proposals are not
    back-propagated, as in Faster R-CNN's approximate joint training), which bounds the memory to
    ``chunk_size x C x 13 x 13`` pooled floats instead of ``num_boxes x C x 13 x 13`` (30k x 126 x 169 x 4 B =
    2.6 GB for the full variant). The loss sees only the sampled boxes (``train_cfg.sampler``).

    Choices the paper leaves open, all config options: the initial boxes (the anchor generator's strides, scales
    and ratios; the configs use 15 shapes on a stride-16 grid, ~34k boxes on 1000x600), the assignment (mmdet's
    ``MaxIoUAssigner``, Faster R-CNN's 0.7 / 0.3 in the configs), the sampler (256 boxes, half positive), the box
    coder (``DeltaXYWHBBoxCoder``) and the loss normalisation (by the number of sampled boxes).

    Args:
        in_channels (int): Channels of the Hyper Feature. Defaults to 126.
        featmap_stride (int): Stride of the Hyper Feature. Defaults to 4.
        num_classes (int): Must be 1 (class-agnostic proposals); mmdet's two-stage detector passes it.
        roi_size (int): RoI pooling output size. Defaults to 13.
        conv_channels (int): Channels of the 3x3 conv. Defaults to 4.
        fc_channels (int): Width of the FC layer. Defaults to 256.
        conv_before_pool (bool): HyperNet-SP (conv before RoI pooling). Defaults to False.
        roi_layer (dict): RoI layer of :class:`~mmext.det.RoIPoolExtractor`. Defaults to 13x13 ``RoIPool``.
        anchor_generator (dict): The initial boxes. Defaults to a stride-16 grid of 5 scales x 3 ratios.
        bbox_coder (dict): Box coder. Defaults to ``DeltaXYWHBBoxCoder`` with unit stds.
        loss_cls (dict): Objectness loss. Defaults to softmax cross-entropy.
        loss_bbox (dict): Box loss. Defaults to Smooth L1 (beta 1, weight 1: the paper's lambda = 1).
        chunk_size (int, optional): Boxes scored at once when generating proposals; ``None`` scores all at once.
            Defaults to 2048.
        train_cfg (dict, optional): ``assigner``, ``sampler``, ``allowed_border``.
        test_cfg (dict, optional): ``nms_pre``, ``max_per_img``, ``nms``, ``min_bbox_size``.
        init_cfg (dict or list[dict], optional): Defaults to Normal(std 0.01) for every layer.
    """

    def __init__(self,
                 in_channels: int = 126,
                 featmap_stride: int = 4,
                 num_classes: int = 1,
                 roi_size: int = 13,
                 conv_channels: int = 4,
                 fc_channels: int = 256,
                 conv_before_pool: bool = False,
                 roi_layer: dict = dict(type='RoIPool', output_size=13),
                 anchor_generator: dict = dict(type='AnchorGenerator', strides=[16], ratios=[0.5, 1.0, 2.0],
                                               scales=[2, 4, 8, 16, 32]),
                 bbox_coder: dict = dict(type='DeltaXYWHBBoxCoder', target_means=[.0, .0, .0, .0],
                                         target_stds=[1.0, 1.0, 1.0, 1.0]),
                 loss_cls: dict = dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
                 loss_bbox: dict = dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0),
                 chunk_size: Optional[int] = 2048,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 init_cfg=dict(type='Normal', layer=['Conv2d', 'Linear'], std=0.01)) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_classes != 1:
            raise ValueError(f'HyperNetRPNHead: proposals are class-agnostic, num_classes must be 1, got '
                             f'{num_classes}')
        if roi_layer.get('output_size', roi_size) != roi_size:
            raise ValueError(f'HyperNetRPNHead: roi_layer.output_size={roi_layer["output_size"]} differs from '
                             f'roi_size={roi_size}')
        if chunk_size is not None and chunk_size < 1:
            raise ValueError(f'HyperNetRPNHead: chunk_size must be >= 1 or None, got {chunk_size}')
        self.in_channels = in_channels
        self.featmap_stride = featmap_stride
        self.num_classes = num_classes
        self.roi_size = roi_size
        self.conv_before_pool = conv_before_pool
        self.chunk_size = chunk_size
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg

        pooled_channels = conv_channels if conv_before_pool else in_channels
        self.roi_extractor = MODELS.build(dict(
            type='RoIPoolExtractor', roi_layer=dict(roi_layer, output_size=roi_size),
            out_channels=pooled_channels, featmap_strides=[featmap_stride]))
        self.conv = nn.Conv2d(in_channels, conv_channels, 3, padding=1)
        self.fc = nn.Linear(conv_channels * roi_size * roi_size, fc_channels)
        self.fc_cls = nn.Linear(fc_channels, 2)  # (background, object)
        self.fc_reg = nn.Linear(fc_channels, 4)
        self.prior_generator = TASK_UTILS.build(anchor_generator)
        self.bbox_coder = TASK_UTILS.build(bbox_coder)
        self.loss_cls = MODELS.build(loss_cls)
        self.loss_bbox = MODELS.build(loss_bbox)
        if train_cfg is not None:
            self.assigner = TASK_UTILS.build(train_cfg['assigner'])
            self.sampler = TASK_UTILS.build(train_cfg['sampler'], default_args=dict(context=self))

    # ----------------------------------------------------------------------------------------------- features
    def forward(self, x: Sequence[Tensor]) -> Tuple[Tensor]:
        """Return ``(map, )``, the map RoI pooling reads: the Hyper Feature, or SP's 4-channel conv output."""
        if len(x) != 1:
            raise ValueError(f'HyperNetRPNHead: expects one (single-scale) feature map, got {len(x)}')
        feat = x[0]
        if feat.shape[1] != self.in_channels:
            raise ValueError(f'HyperNetRPNHead: the feature map has {feat.shape[1]} channels but '
                             f'in_channels={self.in_channels} (set it to the neck\'s out_channels)')
        return (F.relu(self.conv(feat)), ) if self.conv_before_pool else (feat, )

    def _score_rois(self, pool_map: Tensor, rois: Tensor) -> Tuple[Tensor, Tensor]:
        """Objectness logits (n, 2) and box deltas (n, 4) of ``rois`` (n, 5: batch index, x1, y1, x2, y2)."""
        feats = self.roi_extractor((pool_map, ), rois)
        if not self.conv_before_pool:
            feats = F.relu(self.conv(feats))
        hidden = F.relu(self.fc(feats.flatten(1)))
        return self.fc_cls(hidden), self.fc_reg(hidden)

    def _score_rois_chunked(self, pool_map: Tensor, rois: Tensor) -> Tuple[Tensor, Tensor]:
        step = self.chunk_size or max(len(rois), 1)
        outs = [self._score_rois(pool_map, rois[i:i + step]) for i in range(0, len(rois), step)]
        if not outs:
            return rois.new_zeros((0, 2)), rois.new_zeros((0, 4))
        return torch.cat([o[0] for o in outs]), torch.cat([o[1] for o in outs])

    def initial_boxes(self, batch_img_metas: List[dict], device) -> Tuple[Tensor, List[Tensor]]:
        """All initial boxes (n, 4) on the padded batch and, per image, the flags of those centred inside it."""
        pad_h, pad_w = batch_img_metas[0]['batch_input_shape']
        sizes = [(math.ceil(pad_h / s[1]), math.ceil(pad_w / s[0])) for s in self.prior_generator.strides]
        boxes = torch.cat(self.prior_generator.grid_priors(sizes, device=device))
        flags = [torch.cat(self.prior_generator.valid_flags(sizes, meta['img_shape'][:2], device=device))
                 for meta in batch_img_metas]
        return boxes, flags

    # ----------------------------------------------------------------------------------------------- training
    def loss(self, x: Sequence[Tensor], batch_data_samples: list) -> Dict[str, Tensor]:
        """Objectness and box losses on the sampled initial boxes of each image."""
        pool_map = self(x)[0]
        metas = [s.metainfo for s in batch_data_samples]
        boxes, flags = self.initial_boxes(metas, pool_map.device)
        allowed_border = self.train_cfg.get('allowed_border', 0)
        rois, labels, targets, pos_masks = [], [], [], []
        for i, sample in enumerate(batch_data_samples):
            inside = anchor_inside_flags(boxes, flags[i], metas[i]['img_shape'][:2], allowed_border)
            priors = boxes[inside]
            if len(priors) == 0:
                continue
            pred = InstanceData(priors=priors)
            gt = sample.gt_instances
            ignore = sample.get('ignored_instances', None)
            assign_result = self.assigner.assign(pred, gt, ignore)
            sampling = self.sampler.sample(assign_result, pred, gt)
            sampled = torch.cat([sampling.pos_priors, sampling.neg_priors])
            num_pos = len(sampling.pos_inds)
            rois.append(torch.cat([sampled.new_full((len(sampled), 1), i), sampled], dim=1))
            label = sampled.new_zeros(len(sampled), dtype=torch.long)
            label[:num_pos] = 1
            labels.append(label)
            target = sampled.new_zeros((len(sampled), 4))
            if num_pos:
                target[:num_pos] = self.bbox_coder.encode(sampling.pos_priors, sampling.pos_gt_bboxes)
            targets.append(target)
            pos_masks.append(label.bool())
        if not rois:  # no initial box inside any image: zero losses that still touch every parameter
            zero = sum(p.sum() for p in self.parameters()) * 0 + pool_map.sum() * 0
            return dict(loss_rpn_cls=zero, loss_rpn_bbox=zero)
        rois_t, labels_t, targets_t, pos_t = (torch.cat(v) for v in (rois, labels, targets, pos_masks))
        cls_score, bbox_pred = self._score_rois(pool_map, rois_t)
        avg_factor = max(len(rois_t), 1)
        loss_cls = self.loss_cls(cls_score, labels_t, avg_factor=avg_factor)
        weights = pos_t.float()[:, None].expand(-1, 4)
        loss_bbox = self.loss_bbox(bbox_pred, targets_t, weights, avg_factor=avg_factor)
        return dict(loss_rpn_cls=loss_cls, loss_rpn_bbox=loss_bbox)

    def loss_and_predict(self, x: Sequence[Tensor], batch_data_samples: list,
                         proposal_cfg: Optional[ConfigDict] = None) -> Tuple[dict, List[InstanceData]]:
        """Losses plus the proposals the detection module trains on (``proposal_cfg``, e.g. ``rpn_proposal``)."""
        losses = self.loss(x, batch_data_samples)
        metas = [s.metainfo for s in batch_data_samples]
        return losses, self.predict_by_feat(x, metas, cfg=proposal_cfg, rescale=False)

    # ----------------------------------------------------------------------------------------------- proposals
    def predict(self, x: Sequence[Tensor], batch_data_samples: list, rescale: bool = False) -> List[InstanceData]:
        """Proposals (``bboxes``, ``scores``, ``labels`` = 0) per image, ``test_cfg`` settings."""
        return self.predict_by_feat(x, [s.metainfo for s in batch_data_samples], cfg=self.test_cfg,
                                    rescale=rescale)

    @torch.no_grad()
    def predict_by_feat(self, x: Sequence[Tensor], batch_img_metas: List[dict], cfg: Optional[dict] = None,
                        rescale: bool = False) -> List[InstanceData]:
        cfg = self.test_cfg if cfg is None else cfg
        pool_map = self(x)[0]
        boxes, flags = self.initial_boxes(batch_img_metas, pool_map.device)
        results = []
        for i, meta in enumerate(batch_img_metas):
            priors = boxes[flags[i]]
            rois = torch.cat([priors.new_full((len(priors), 1), i), priors], dim=1)
            cls_score, bbox_pred = self._score_rois_chunked(pool_map, rois)
            scores = cls_score.softmax(-1)[:, 1]
            nms_pre = cfg.get('nms_pre', -1)
            if 0 < nms_pre < len(scores):
                scores, keep = scores.topk(nms_pre)
                priors, bbox_pred = priors[keep], bbox_pred[keep]
            bboxes = self.bbox_coder.decode(priors, bbox_pred, max_shape=meta['img_shape'][:2])
            if rescale:
                bboxes = scale_boxes(bboxes, [1 / s for s in meta['scale_factor']])
            if cfg.get('min_bbox_size', -1) >= 0:
                w, h = get_box_wh(bboxes)
                valid = (w > cfg['min_bbox_size']) & (h > cfg['min_bbox_size'])
                bboxes, scores = bboxes[valid], scores[valid]
            result = InstanceData()
            if len(bboxes):
                dets, keep = batched_nms(bboxes, scores, scores.new_zeros(len(scores), dtype=torch.long),
                                         cfg['nms'])
                keep = keep[:cfg['max_per_img']]
                result.bboxes, result.scores = bboxes[keep], dets[:len(keep), -1]
            else:
                result.bboxes, result.scores = bboxes.new_zeros((0, 4)), scores.new_zeros(0)
            result.labels = result.scores.new_zeros(len(result.scores), dtype=torch.long)
            results.append(result)
        return results
