"""SSC evaluation as in SSCNet / the ESSCNet release (``eval/metric.py``).

Scene completion (SC): IoU, precision and recall of "occupied" on the occluded voxels (``-1 <= TSDF < 0``, label
not 255). Semantic scene completion (SSC): per-class IoU over classes 1..11 on the same voxels, and their mean.
Counts are accumulated over the whole set (mmseg's ``IoUMetric.intersect_and_union`` does the per-class counting).
"""
from typing import Dict, List, Optional, Sequence

import torch
from mmengine.evaluator import BaseMetric
from mmseg.evaluation import IoUMetric

from ...registry import register

__all__ = ['SSCMetric']


@register('METRICS', scopes=['mmseg'])
class SSCMetric(BaseMetric):
    """SC IoU/precision/recall and SSC per-class IoU / mIoU (in %) at the high-resolution output.

    Args:
        num_classes (int): Including empty (0). Defaults to 12.
        class_names (Sequence[str], optional): For per-class keys; defaults to the dataset's classes.
        ignore_index (int): Invalid label. Defaults to 255.
        eval_region (str): ``'occluded'`` (SSCNet's protocol) or ``'all'`` valid voxels.
    """

    default_prefix = 'ssc'

    def __init__(self, num_classes: int = 12, class_names: Optional[Sequence[str]] = None, ignore_index: int = 255,
                 eval_region: str = 'occluded', collect_device: str = 'cpu', prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if eval_region not in ('occluded', 'all'):
            raise ValueError(f"SSCMetric: eval_region={eval_region!r}; expected 'occluded' or 'all'")
        self.num_classes, self.ignore_index, self.eval_region = int(num_classes), int(ignore_index), eval_region
        self.class_names = list(class_names) if class_names is not None else None

    def _mask(self, label: torch.Tensor, tsdf: torch.Tensor) -> torch.Tensor:
        valid = label != self.ignore_index
        if self.eval_region == 'occluded':
            valid &= (tsdf >= -1) & (tsdf < 0)
        return valid

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            pred = sample['pred_label'].cpu().long()
            label = sample['gt_label'].cpu().long()
            mask = self._mask(label, sample['tsdf'].cpu())
            p, g = pred[mask], label[mask]
            tp = int(((p > 0) & (g > 0)).sum())
            fp = int(((p > 0) & (g == 0)).sum())
            fn = int(((p == 0) & (g > 0)).sum())
            inter, union, _, _ = IoUMetric.intersect_and_union(p, g, self.num_classes, self.ignore_index)
            self.results.append(dict(tp=tp, fp=fp, fn=fn, inter=inter.double(), union=union.double()))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        tp = sum(r['tp'] for r in results)
        fp = sum(r['fp'] for r in results)
        fn = sum(r['fn'] for r in results)
        inter = sum(r['inter'] for r in results)
        union = sum(r['union'] for r in results)
        out = dict(sc_iou=100.0 * tp / max(1, tp + fp + fn), sc_precision=100.0 * tp / max(1, tp + fp),
                   sc_recall=100.0 * tp / max(1, tp + fn))
        names = self.class_names or (list(self.dataset_meta.get('classes', [])) if self.dataset_meta else None)
        ious = []
        for c in range(1, self.num_classes):
            iou = float(inter[c] / union[c]) if union[c] > 0 else float('nan')
            ious.append(iou)
            name = names[c] if names and c < len(names) else str(c)
            out[f'iou_{name}'] = 100.0 * iou
        present = [i for i in ious if i == i]
        out['ssc_miou'] = 100.0 * sum(present) / max(1, len(present))
        return out
