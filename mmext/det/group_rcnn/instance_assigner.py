"""Instance-level assignment of Group R-CNN (Sec. 3.3): each RoI is matched only against its own instance's box.

Group R-CNN (Zhang et al., "Group R-CNN for Point-based Weakly Semi-supervised Object Detection", CVPR 2022,
arXiv:2205.05920). A RoI of the group of point ``i`` is positive when its IoU with instance ``i``'s ground-truth box
is above the stage threshold (strictly, as the release) and then takes instance ``i``'s class; otherwise it is
background. No sampler.
"""
from typing import Tuple

import torch
from mmdet.structures.bbox import bbox_overlaps
from torch import Tensor

from ...registry import register

__all__ = ['InstanceLevelAssigner']


@register('TASK_UTILS', scopes=['mmdet'])
class InstanceLevelAssigner:
    """Assign every RoI to background or to the class of the instance whose group it belongs to.

    Args:
        pos_iou_thr (float): A RoI is positive when ``IoU(roi, own gt) > pos_iou_thr``. Release: 0.5 / 0.6 / 0.7
            for the three cascade stages.
    """

    def __init__(self, pos_iou_thr: float) -> None:
        if not 0 <= pos_iou_thr < 1:
            raise ValueError(f'InstanceLevelAssigner: pos_iou_thr must be in [0, 1), got {pos_iou_thr}')
        self.pos_iou_thr = float(pos_iou_thr)

    def assign(self, rois: Tensor, own_gt_bboxes: Tensor, own_gt_labels: Tensor,
               num_classes: int) -> Tuple[Tensor, Tensor, Tensor]:
        """Assign RoIs that are already paired with their own instance.

        Args:
            rois (Tensor): Boxes (R, 4), x1y1x2y2.
            own_gt_bboxes (Tensor): The box of each RoI's own instance (R, 4).
            own_gt_labels (Tensor): The class of each RoI's own instance (R, ).
            num_classes (int): Background label.

        Returns:
            tuple: ``labels`` (R, ) with ``num_classes`` for background, ``pos_mask`` (R, ) bool and ``ious`` (R, ).
        """
        if rois.shape != own_gt_bboxes.shape or rois.size(0) != own_gt_labels.size(0):
            raise ValueError(f'InstanceLevelAssigner: rois {tuple(rois.shape)}, own_gt_bboxes '
                             f'{tuple(own_gt_bboxes.shape)} and own_gt_labels {tuple(own_gt_labels.shape)} must be '
                             f'aligned (one instance per RoI)')
        ious = bbox_overlaps(rois, own_gt_bboxes, is_aligned=True)
        pos_mask = ious > self.pos_iou_thr
        labels = torch.full_like(own_gt_labels, num_classes)
        labels[pos_mask] = own_gt_labels[pos_mask]
        return labels, pos_mask, ious
