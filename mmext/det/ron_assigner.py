"""RON's IoU assignment, with the release's strict / non-strict comparisons.

Paper: Kong et al., "RON: Reverse Connection with Objectness Prior Networks for Object Detection", CVPR 2017,
arXiv:1707.01691. Logic of ``lib/ron_layer/anchor_target_layer.py`` (objectness) and ``det_target_layer.py``
(classes) of the authors' release.
"""
from typing import Optional, Sequence, Union

import torch
from mmdet.models.task_modules.assigners import AssignResult, BaseAssigner
from mmdet.structures.bbox import bbox_overlaps, get_box_tensor
from mmengine.structures import InstanceData

from ..registry import register

__all__ = ['RONAssigner']

_BEST_ANCHOR_GT = ('max_iou', 'own')


@register('TASK_UTILS', scopes=['mmdet'])
class RONAssigner(BaseAssigner):
    """Label anchors the way RON's target layers do (``gt_inds``: -1 ignore, 0 negative, k > 0 the k-th GT).

    In this order, later steps overwriting earlier ones:

    1. negative if ``lo < max IoU < hi`` for ``neg_iou_thr=(lo, hi)`` (both strict: anchors with no overlap
       at all are never negatives, the release's quirk) or ``max IoU < neg_iou_thr`` for a float;
    2. the best anchor of every GT whose IoU with it is **strictly** above ``min_pos_iou`` is positive; its GT
       is the anchor's max-IoU GT (``best_anchor_gt='max_iou'``, ``anchor_target_layer.py``, where only the box
       target depends on it) or the GT it is the best anchor of (``'own'``, ``det_target_layer.py``, where it
       is the class label; with several GTs on one anchor the last one wins, as numpy's fancy assignment);
    3. positive with its max-IoU GT if ``max IoU >= pos_iou_thr``.

    mmdet's ``MaxIoUAssigner`` differs in the comparisons (``>= lo`` and ``>= min_pos_iou``) and always gives a
    best anchor its own GT. An image without GT (the release drops them) has all anchors negative, as mmdet's.
    ``gt_instances_ignore`` is not used (the release trains without VOC's difficult boxes; so does mmdet's
    ``MaxIoUAssigner`` with ``ignore_iof_thr=-1``).

    Args:
        pos_iou_thr (float): Positive at max IoU >= this (0.5 objectness, 0.6 classes).
        neg_iou_thr (float or tuple[float, float]): (0.001, 0.3) objectness, 0.3 classes.
        min_pos_iou (float): A GT's best anchor is positive if their IoU > this (0.1 objectness, 0.3 classes).
        best_anchor_gt (str): ``'max_iou'`` or ``'own'``, see above. Defaults to ``'max_iou'``.
    """

    def __init__(self,
                 pos_iou_thr: float,
                 neg_iou_thr: Union[float, Sequence[float]],
                 min_pos_iou: float,
                 best_anchor_gt: str = 'max_iou') -> None:
        if isinstance(neg_iou_thr, (int, float)):
            neg_iou_thr = (None, float(neg_iou_thr))
        else:
            neg_iou_thr = tuple(neg_iou_thr)
            if len(neg_iou_thr) != 2 or not neg_iou_thr[0] < neg_iou_thr[1]:
                raise ValueError(f'RONAssigner: neg_iou_thr must be a float or (lo, hi) with lo < hi, '
                                 f'got {neg_iou_thr}')
        if best_anchor_gt not in _BEST_ANCHOR_GT:
            raise ValueError(f'RONAssigner: best_anchor_gt must be one of {_BEST_ANCHOR_GT}, got {best_anchor_gt!r}')
        self.pos_iou_thr = float(pos_iou_thr)
        self.neg_iou_thr = neg_iou_thr
        self.min_pos_iou = float(min_pos_iou)
        self.best_anchor_gt = best_anchor_gt

    def assign(self,
               pred_instances: InstanceData,
               gt_instances: InstanceData,
               gt_instances_ignore: Optional[InstanceData] = None,
               **kwargs) -> AssignResult:
        """Assign ``pred_instances.priors`` (M, 4) to ``gt_instances.bboxes`` (G, 4)."""
        priors = get_box_tensor(pred_instances.priors)
        gt_bboxes = get_box_tensor(gt_instances.bboxes)
        gt_labels = gt_instances.labels
        num_gts, num = gt_bboxes.size(0), priors.size(0)
        gt_inds = priors.new_full((num, ), -1, dtype=torch.long)
        if num_gts == 0 or num == 0:
            gt_inds[:] = 0
            return AssignResult(num_gts, gt_inds, priors.new_zeros((num, )),
                                labels=priors.new_full((num, ), -1, dtype=torch.long))
        overlaps = bbox_overlaps(gt_bboxes, priors)  # (G, M)
        max_overlaps, argmax = overlaps.max(dim=0)
        lo, hi = self.neg_iou_thr
        neg = max_overlaps < hi
        if lo is not None:
            neg &= max_overlaps > lo
        gt_inds[neg] = 0

        gt_max, gt_argmax = overlaps.max(dim=1)
        chosen = (gt_max > self.min_pos_iou).nonzero(as_tuple=False).squeeze(1)
        if chosen.numel() > 0:
            anchors = gt_argmax[chosen]
            if self.best_anchor_gt == 'max_iou':
                gt_inds[anchors] = argmax[anchors] + 1
            else:  # the last GT choosing an anchor wins
                own = gt_inds.new_zeros((num, )).scatter_reduce(0, anchors, chosen + 1, reduce='amax')
                gt_inds[anchors] = own[anchors]
        pos = max_overlaps >= self.pos_iou_thr
        gt_inds[pos] = argmax[pos] + 1

        labels = gt_inds.new_full((num, ), -1)
        assigned = gt_inds > 0
        labels[assigned] = gt_labels[gt_inds[assigned] - 1].long()
        return AssignResult(num_gts, gt_inds, max_overlaps, labels=labels)
