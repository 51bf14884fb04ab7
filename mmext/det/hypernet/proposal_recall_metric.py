"""mmdet's ``CocoMetric(metric='proposal_fast')`` with a recall computation that works on numpy >= 1.24.

HyperNet (Kong et al., "HyperNet: Towards Accurate Region Proposal Generation and Joint Object Detection", CVPR
2016, arXiv:1604.00600) headlines proposal recall at IoU 0.5 / 0.7 with 50 / 100 / 300 proposals. mmdet 3.3's
``eval_recalls`` stacks the per-image IoU matrices with ``np.array(list_of_ragged_arrays)``, which numpy >= 1.24
rejects (``inhomogeneous shape``) as soon as two images have different numbers of objects. This metric gathers
the same ground truth as ``CocoMetric.fast_eval_recall`` and hands mmdet's own ``_recalls`` an object array.
"""
from typing import List, Optional, Sequence

import numpy as np
from mmdet.evaluation.functional import bbox_overlaps
from mmdet.evaluation.functional.recall import _recalls, print_recall_summary, set_recall_param
from mmdet.evaluation.metrics import CocoMetric
from mmengine.logging import MMLogger

from ...registry import register

__all__ = ['ProposalRecallMetric']


@register('METRICS', scopes=['mmdet'])
class ProposalRecallMetric(CocoMetric):
    """Proposal recall (``AR@N`` = recall averaged over ``iou_thrs``) of the top-N proposals per image.

    Same arguments as :class:`~mmdet.evaluation.metrics.CocoMetric`; ``metric`` defaults to ``'proposal_fast'``
    and ``proposal_nums`` to HyperNet's (50, 100, 300). Use one instance per IoU threshold (with a ``prefix``) to
    report recall at 0.5 and 0.7 separately.
    """

    def __init__(self, metric: str = 'proposal_fast', proposal_nums: Sequence[int] = (50, 100, 300),
                 **kwargs) -> None:
        super().__init__(metric=metric, proposal_nums=proposal_nums, **kwargs)

    def _gt_boxes(self, img_id: int) -> np.ndarray:
        anns = self._coco_api.load_anns(self._coco_api.get_ann_ids(img_ids=img_id))
        boxes = [[a['bbox'][0], a['bbox'][1], a['bbox'][0] + a['bbox'][2], a['bbox'][1] + a['bbox'][3]]
                 for a in anns if not (a.get('ignore', False) or a['iscrowd'])]
        return np.array(boxes, dtype=np.float32).reshape(-1, 4)

    def fast_eval_recall(self, results: List[dict], proposal_nums: Sequence[int], iou_thrs: Sequence[float],
                         logger: Optional[MMLogger] = None) -> np.ndarray:
        proposal_nums, iou_thrs = set_recall_param(proposal_nums, iou_thrs)
        all_ious = np.empty(len(self.img_ids), dtype=object)
        for i, img_id in enumerate(self.img_ids):
            gts = self._gt_boxes(img_id)
            proposals = results[i]['bboxes'][:proposal_nums[-1]]  # sorted by score (NMS order)
            all_ious[i] = (bbox_overlaps(gts, proposals[:, :4]) if len(gts) and len(proposals) else
                           np.zeros((len(gts), len(proposals)), dtype=np.float32))
        recalls = _recalls(all_ious, proposal_nums, iou_thrs)
        print_recall_summary(recalls, proposal_nums, iou_thrs, logger=logger)
        return recalls.mean(axis=1)
