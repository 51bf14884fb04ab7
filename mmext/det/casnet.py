"""CASNet: one-stage instance and panoptic segmentation by clustering pixels on common attributes."""
import copy
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from mmdet.evaluation.functional import INSTANCE_OFFSET
from mmdet.models.detectors import BaseDetector
from mmdet.registry import MODELS
from mmdet.structures import SampleList
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig
from mmengine.structures import InstanceData, PixelData
from torch import Tensor

from ..registry import register
from .cas_box_sampling import CASBoxLogits
from .cas_clustering import cluster_pixels, fill_holes, grow_labels, label_map_to_masks, masks_to_boxes
from .cas_instance_classifier import CASInstanceClassifier
from .cas_targets import semantic_targets

__all__ = ['CASNet']

_DEFAULT_TEST_CFG = dict(
    outputs=('instance', ), seed_thr=0.1, nms_pre=1000, seed_iou_thr=0.4, max_per_img=100, assign_thr=0.2,
    refine_iters=2, centre_sigma=1.0, merge_thr=0.4, min_cells=2, thing_thr=0.4, fill_holes=True,
    mask_from_semantic=True, grow_cells=1., stuff_area_limit=0)
_OUTPUTS = ('instance', 'panoptic')
_CLS_SCORES = ('prob_quality', 'prob_thing_quality')
_CLS_COMBINE = ('replace', 'product')


@register('MODELS', scopes=['mmdet'])
class CASNet(BaseDetector):
    """CASNet ("CASNet: Common Attribute Support Network for image instance and panoptic segmentation", Liu, Hou,
    Yao, Chen, Li, arXiv 2008.00810): one stage, fully convolutional, trained end to end.

    A ResNet + FPN feeds a semantic branch (:class:`CASSemanticHead`, PanopticFPN's fusion, one logit per class)
    and a dense common-attribute branch (:class:`CASAttributeHead`). At test time the thing pixels are clustered on
    their predicted attributes (:func:`cluster_pixels`): the instances never overlap and have no holes, each takes
    the majority class of its pixels from the semantic branch, and the same label map with the stuff classes gives
    the panoptic result. The paper's two training modes, as read here (see ``configs/casnet/README.md``):

    * ``mode='joint'``: one backbone + FPN shared by both branches;
    * ``mode='separated'``: the attribute branch has its own backbone + FPN (built from the same configs), so the
      semantic and instance networks share nothing and train independently (their losses touch disjoint
      parameters); inference combines them as in joint mode.

    Args:
        backbone (dict): Backbone config (e.g. mmdet's ResNet).
        neck (dict): Neck config (e.g. mmdet's FPN with a stride-4 first level).
        semantic_head (dict): :class:`CASSemanticHead` config.
        attribute_head (dict): :class:`CASAttributeHead` config. With ``fuse_levels=None`` it reads the semantic
            head's fused features (joint mode only).
        mode (str): ``'joint'`` or ``'separated'``. Defaults to ``'joint'``.
        train_cfg (dict, optional): Unused (kept for mmdet's interface).
        test_cfg (dict, optional): Post-process settings, defaults in ``_DEFAULT_TEST_CFG``: ``outputs``
            (``'instance'`` -> ``pred_instances``, ``'panoptic'`` -> ``pred_panoptic_seg``), the
            :func:`cluster_pixels` arguments (``max_per_img`` = ``max_instances``), ``min_cells`` (smallest
            cluster kept, in head cells), ``thing_thr`` (a pixel is a thing when the semantic probabilities of the
            thing classes sum to at least this, at the head's stride for the clustering and at full resolution for
            the masks), ``merge_thr`` (refined cluster centres this similar merge, None: off), ``fill_holes``,
            ``mask_from_semantic`` (keep instance pixels only where the full-resolution semantic branch says thing),
            ``grow_cells`` (with ``mask_from_semantic``: unclaimed thing pixels within this many head cells of an
            instance join the nearest one, :func:`grow_labels`; 0: off) and ``stuff_area_limit`` (smaller stuff
            segments become void, pixels).
        box_logits (dict, optional): Box-aligned class logits, :class:`CASBoxLogits` arguments ``grid``,
            ``channels`` and ``hidden`` (e.g. ``dict(grid=3, channels=32)``): every cell samples the semantic
            head's fused features at a grid inside its predicted (detached) box and adds the resulting thing logits
            to the semantic head's, in training and inference. None (default): off, the semantic head's logits alone.
        instance_classifier (dict, optional): :class:`CASInstanceClassifier` arguments (e.g. ``dict(roi_size=7)``;
            ``in_channels``, ``num_things`` and ``stride`` come from the semantic head): the class of each cluster
            is the argmax of this head's probabilities on the semantic features pooled over the cluster's cells and
            their tight box, its score that probability times the cluster's mean quality; trained with
            ``loss_inst_cls`` on the ground-truth instances. Two more keys: ``score`` (``'prob_quality'``,
            default, or ``'prob_thing_quality'``: also times the cluster's mean p(thing)) and ``combine``
            (``'replace'``, default: the head's probabilities alone, or ``'product'``: times the mean semantic
            thing probabilities, renormalised). None (default): the class is the argmax of the mean
            semantic thing probabilities over the cluster's cells (and the score that mean times the quality).
        data_preprocessor (dict, optional): Usually ``DetDataPreprocessor`` with ``pad_mask`` and ``pad_seg``.
        init_cfg (dict, optional): Init config.
    """

    def __init__(self,
                 backbone: ConfigType,
                 neck: ConfigType,
                 semantic_head: ConfigType,
                 attribute_head: ConfigType,
                 mode: str = 'joint',
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 box_logits: OptConfigType = None,
                 instance_classifier: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if mode not in ('joint', 'separated'):
            raise ValueError(f"CASNet: mode must be 'joint' or 'separated', got {mode!r}")
        self.mode = mode
        self.backbone = MODELS.build(backbone)
        self.neck = MODELS.build(neck)
        if mode == 'separated':
            self.attr_backbone = MODELS.build(copy.deepcopy(backbone))
            self.attr_neck = MODELS.build(copy.deepcopy(neck))
        self.semantic_head = MODELS.build(semantic_head)
        self.attribute_head = MODELS.build(attribute_head)
        if not self.attribute_head.fuses and mode == 'separated':
            raise ValueError("CASNet: mode='separated' needs attribute_head.fuse_levels (its own fusion); "
                             "fuse_levels=None shares the semantic head's features")
        if self.attribute_head.stride != self.semantic_head.stride:
            raise ValueError(f'CASNet: attribute_head.stride ({self.attribute_head.stride}) must equal the '
                             f'semantic head stride 2**(start_level+2) ({self.semantic_head.stride})')
        self.num_things = self.semantic_head.num_things_classes
        self.num_stuff = self.semantic_head.num_stuff_classes
        self.box_logits = None
        if box_logits is not None:
            unknown = set(box_logits) - {'grid', 'channels', 'hidden'}
            if unknown:
                raise KeyError(f"CASNet: unknown box_logits keys {sorted(unknown)}; expected some of "
                               "['channels', 'grid', 'hidden']")
            self.box_logits = CASBoxLogits(self.semantic_head.conv_logits.in_channels, self.num_things,
                                           stride=self.semantic_head.stride, **box_logits)
        self.instance_classifier = None
        if instance_classifier is not None:
            head_cfg = dict(instance_classifier)
            self.cls_score = head_cfg.pop('score', 'prob_quality')
            self.cls_combine = head_cfg.pop('combine', 'replace')
            allowed = {'roi_size', 'channels', 'fc_channels', 'with_occupancy', 'with_mask_mean', 'num_jitter',
                       'jitter', 'loss_weight'}
            unknown = set(head_cfg) - allowed
            if unknown:
                raise KeyError(f'CASNet: unknown instance_classifier keys {sorted(unknown)}; expected some of '
                               f"{sorted(allowed | {'score', 'combine'})}")
            if self.cls_score not in _CLS_SCORES:
                raise ValueError(f'CASNet: instance_classifier.score must be one of {_CLS_SCORES}, '
                                 f'got {self.cls_score!r}')
            if self.cls_combine not in _CLS_COMBINE:
                raise ValueError(f'CASNet: instance_classifier.combine must be one of {_CLS_COMBINE}, '
                                 f'got {self.cls_combine!r}')
            self.instance_classifier = CASInstanceClassifier(
                self.semantic_head.conv_logits.in_channels, self.num_things, stride=self.semantic_head.stride,
                **head_cfg)
        self.train_cfg = train_cfg
        cfg = dict(_DEFAULT_TEST_CFG)
        unknown = set(test_cfg or {}) - set(cfg)
        if unknown:
            raise KeyError(f'CASNet: unknown test_cfg keys {sorted(unknown)}; expected some of {sorted(cfg)}')
        cfg.update(test_cfg or {})
        outputs = (cfg['outputs'], ) if isinstance(cfg['outputs'], str) else tuple(cfg['outputs'])
        if not outputs or not set(outputs) <= set(_OUTPUTS):
            raise ValueError(f'CASNet: test_cfg.outputs must be a non-empty subset of {_OUTPUTS}, got {outputs}')
        cfg['outputs'] = outputs
        self.test_cfg = cfg

    # ------------------------------------------------------------------ features and heads
    def extract_feat(self, batch_inputs: Tensor) -> Tuple[Tensor, ...]:
        """FPN features of the semantic branch (shared with the attribute branch in joint mode)."""
        return self.neck(self.backbone(batch_inputs))

    def _heads(self, batch_inputs: Tensor) -> Tuple[Dict[str, Tensor], Dict[str, Tensor]]:
        x = self.extract_feat(batch_inputs)
        sem_out = self.semantic_head(x)
        if self.mode == 'separated':
            attr_in = self.attr_neck(self.attr_backbone(batch_inputs))
        else:
            attr_in = x if self.attribute_head.fuses else sem_out['seg_feats']
        attr_out = self.attribute_head(attr_in)
        if self.box_logits is not None:  # box-aligned thing logits from the detached predicted boxes
            boxes = self.attribute_head.decode({k: v.detach() for k, v in attr_out.items()})['boxes']
            seg = sem_out['seg_preds']
            extra = self.box_logits(sem_out['seg_feats'], boxes)
            sem_out = dict(sem_out, seg_preds=torch.cat([seg[:, :self.num_things] + extra,
                                                         seg[:, self.num_things:]], dim=1))
        return sem_out, attr_out

    def _forward(self, batch_inputs: Tensor, batch_data_samples: SampleList = None) -> Tuple[Tensor, ...]:
        """Raw outputs: semantic logits, box distances, quality logits (and centre offsets), all at stride 4."""
        sem_out, attr_out = self._heads(batch_inputs)
        outs = (sem_out['seg_preds'], attr_out['dist'], attr_out['quality'])
        return outs + ((attr_out['centre'], ) if 'centre' in attr_out else ())

    def loss(self, batch_inputs: Tensor, batch_data_samples: SampleList) -> Dict[str, Tensor]:
        sem_out, attr_out = self._heads(batch_inputs)
        seg_preds = sem_out['seg_preds']
        targets = semantic_targets(batch_data_samples, self.num_things, self.num_stuff, self.semantic_head.stride,
                                   tuple(seg_preds.shape[-2:]), self.semantic_head.ignore_index)
        losses = self.semantic_head.loss_by_feat(seg_preds, targets)
        losses.update(self.attribute_head.loss_by_feat(attr_out, batch_data_samples))
        if self.instance_classifier is not None:
            owner = self.attribute_head.get_targets(tuple(seg_preds.shape[-2:]), batch_data_samples)['owner']
            labels = [s.gt_instances.labels.to(owner.device).long() for s in batch_data_samples]
            batch_idx = torch.cat([torch.full((len(lab), ), i, dtype=torch.long, device=owner.device)
                                   for i, lab in enumerate(labels)])
            losses.update(self.instance_classifier.loss(sem_out['seg_feats'], owner, torch.cat(labels), batch_idx))
        return losses

    # ------------------------------------------------------------------ inference
    def predict(self, batch_inputs: Tensor, batch_data_samples: SampleList, rescale: bool = True) -> SampleList:
        sem_out, attr_out = self._heads(batch_inputs)
        dec = self.attribute_head.decode(attr_out)
        seg_preds = sem_out['seg_preds']
        probs = seg_preds.softmax(dim=1)
        quality = attr_out['quality'].sigmoid()[:, 0]
        batch_shape = tuple(batch_inputs.shape[-2:])
        for i, sample in enumerate(batch_data_samples):
            meta = sample.metainfo
            labels_map, inst_labels, inst_scores, mean_q, mean_probs = self._cluster_one(
                probs[i], quality[i], dec['boxes'][i], dec['centres'][i] if 'centres' in dec else None,
                meta.get('img_shape', batch_shape))
            if self.instance_classifier is not None:  # class from the pooled semantic features of each cluster
                cls_probs, _ = self.instance_classifier.predict(sem_out['seg_feats'][i:i + 1], labels_map,
                                                                len(inst_labels))
                if self.cls_combine == 'product':  # with the mean semantic probabilities, renormalised
                    cls_probs = cls_probs * mean_probs
                    cls_probs = cls_probs / cls_probs.sum(1, keepdim=True).clamp(min=1e-12)
                cls_score, inst_labels = cls_probs.max(dim=1)
                inst_scores = cls_score * mean_q
                if self.cls_score == 'prob_thing_quality':
                    inst_scores = inst_scores * mean_probs.sum(1)
            full = self._resize_logits(seg_preds[i:i + 1], batch_shape, meta, rescale).softmax(dim=0)
            thing_full = full[:self.num_things].sum(0) >= self.test_cfg['thing_thr']
            inst_map = self._resize_labels(labels_map, batch_shape, meta, rescale)
            if self.test_cfg['mask_from_semantic']:
                inst_map = torch.where(thing_full, inst_map, torch.zeros_like(inst_map))
                if self.test_cfg['grow_cells'] > 0:  # rim pixels of boundary cells sampled as non-thing
                    radius = self.test_cfg['grow_cells'] * self.semantic_head.stride * inst_map.shape[0] / \
                        meta.get('img_shape', batch_shape)[0]
                    inst_map = torch.from_numpy(grow_labels(inst_map.cpu().numpy(), thing_full.cpu().numpy(),
                                                            radius)).to(inst_map.device)
            if self.test_cfg['fill_holes']:
                inst_map = torch.from_numpy(fill_holes(inst_map.cpu().numpy())).to(inst_map.device)
            masks = label_map_to_masks(inst_map, len(inst_labels))
            keep = masks.flatten(1).any(dim=1)
            if 'instance' in self.test_cfg['outputs']:
                res = InstanceData()
                res.masks = masks[keep]
                res.labels = inst_labels[keep]
                res.scores = inst_scores[keep]
                res.bboxes = masks_to_boxes(res.masks)
                sample.pred_instances = res
            if 'panoptic' in self.test_cfg['outputs']:
                stuff_full = full[self.num_things:].argmax(dim=0) + self.num_things
                sample.pred_panoptic_seg = self._panoptic(thing_full, stuff_full, inst_map, inst_labels, keep)
        return batch_data_samples

    def _cluster_one(self, probs: Tensor, quality: Tensor, boxes: Tensor, centres: Optional[Tensor],
                     img_shape: Tuple[int, int]) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
        """Cluster one image at the head's stride -> (h, w) label map (0 none, k instance k), labels, scores
        (from the mean semantic probabilities), the mean quality and the mean thing-class probabilities (K, T) of
        each kept cluster."""
        cfg = self.test_cfg
        _, h, w = probs.shape
        cx, cy = self.attribute_head.cell_centres(h, w, probs.device)
        inside = (cx < img_shape[1]) & (cy < img_shape[0])  # cells on the padding never join an instance
        p_thing_map = probs[:self.num_things].sum(0)
        fg = (p_thing_map >= cfg['thing_thr']) & inside
        idx = torch.nonzero(fg.reshape(-1), as_tuple=False).squeeze(1)
        p_thing = p_thing_map.reshape(-1)[idx]
        q = quality.reshape(-1)[idx]
        res = cluster_pixels(
            boxes.reshape(-1, 4)[idx], q * p_thing, None if centres is None else centres.reshape(-1, 2)[idx],
            weights=q, seed_thr=cfg['seed_thr'], nms_pre=cfg['nms_pre'], seed_iou_thr=cfg['seed_iou_thr'],
            max_instances=cfg['max_per_img'], assign_thr=cfg['assign_thr'], refine_iters=cfg['refine_iters'],
            centre_sigma=cfg['centre_sigma'], merge_thr=cfg['merge_thr'])
        assign = res['assign']
        k = res['boxes'].shape[0]
        labels_map = torch.zeros(h * w, dtype=torch.long, device=probs.device)
        member = assign >= 0
        counts = torch.bincount(assign[member], minlength=k) if k else assign.new_zeros(0)
        kept = counts >= max(cfg['min_cells'], 1)
        new_id = torch.cumsum(kept.long(), 0) * kept.long()  # 1..K' for kept clusters, 0 for dropped
        if k:
            labels_map[idx[member]] = new_id[assign[member]]
        # class and score of each kept cluster, from the semantic branch and the quality, by scatter means
        thing_probs = probs[:self.num_things].reshape(self.num_things, -1)[:, idx[member]].t()
        sums = probs.new_zeros((k, self.num_things)).index_add_(0, assign[member], thing_probs)
        qsum = probs.new_zeros(k).index_add_(0, assign[member], q[member])
        mean_probs = sums / counts.clamp(min=1)[:, None]
        cls_score, labels = mean_probs.max(dim=1)
        mean_q = qsum / counts.clamp(min=1)
        return labels_map.reshape(h, w), labels[kept], (cls_score * mean_q)[kept], mean_q[kept], mean_probs[kept]

    @staticmethod
    def _resize_logits(seg_pred: Tensor, batch_shape: Tuple[int, int], meta: dict, rescale: bool) -> Tensor:
        """(1, C, h, w) logits -> (C, H, W) at the image (or original) resolution, bilinear as PanopticFPN."""
        x = F.interpolate(seg_pred, size=batch_shape, mode='bilinear', align_corners=False)
        ih, iw = meta.get('img_shape', batch_shape)
        x = x[:, :, :ih, :iw]
        if rescale and 'ori_shape' in meta:
            x = F.interpolate(x, size=tuple(meta['ori_shape']), mode='bilinear', align_corners=False)
        return x[0]

    @staticmethod
    def _resize_labels(labels_map: Tensor, batch_shape: Tuple[int, int], meta: dict, rescale: bool) -> Tensor:
        """(h, w) label map -> image (or original) resolution, nearest (ids are never mixed)."""
        x = F.interpolate(labels_map[None, None].float(), size=batch_shape, mode='nearest')
        ih, iw = meta.get('img_shape', batch_shape)
        x = x[:, :, :ih, :iw]
        if rescale and 'ori_shape' in meta:
            x = F.interpolate(x, size=tuple(meta['ori_shape']), mode='nearest')
        return x[0, 0].long()

    def _panoptic(self, thing_full: Tensor, stuff_full: Tensor, inst_map: Tensor, inst_labels: Tensor,
                  keep: Tensor) -> PixelData:
        """mmdet's panoptic encoding: stuff = class id, thing = class + id * INSTANCE_OFFSET, void = num_classes."""
        num_classes = self.num_things + self.num_stuff
        pan = stuff_full.clone().long()
        pan[thing_full] = num_classes  # thing pixels that no instance took
        new_ids = torch.cumsum(keep.long(), 0)  # consecutive instance ids over the kept instances
        lab = torch.cat([inst_labels.new_zeros(1), inst_labels])
        ids = torch.cat([new_ids.new_zeros(1), new_ids])
        thing = inst_map > 0
        pan[thing] = lab[inst_map[thing]] + ids[inst_map[thing]] * INSTANCE_OFFSET
        limit = self.test_cfg['stuff_area_limit']
        if limit > 0:
            stuff = (pan >= self.num_things) & (pan < num_classes)
            counts = torch.bincount(pan[stuff], minlength=num_classes)
            small = counts < limit
            pan[stuff & small[pan.clamp(max=num_classes - 1)]] = num_classes
        return PixelData(sem_seg=pan[None].int())
