"""A two-stage detector whose ``predict`` returns the proposals, to measure proposal recall with mmdet's metrics.

HyperNet (Kong et al., "HyperNet: Towards Accurate Region Proposal Generation and Joint Object Detection", CVPR
2016, arXiv:1604.00600) headlines the recall of its proposals at IoU 0.5 / 0.7 with 50 / 100 / 300 proposals.
"""
from mmdet.models.detectors import TwoStageDetector
from torch import Tensor

from ...registry import register

__all__ = ['TwoStageProposalDetector']


@register('MODELS', scopes=['mmdet'])
class TwoStageProposalDetector(TwoStageDetector):
    """Any two-stage detector (``FasterRCNN``, :class:`~mmext.det.HyperNet` ...) evaluated on its proposals.

    Same arguments and checkpoint keys as :class:`TwoStageDetector`: set ``model.type`` to this name in a test
    config to load a trained two-stage checkpoint and score ``rpn_head`` proposals (``test_cfg.rpn``, rescaled to
    the original image, label 0) with ``CocoMetric(metric='proposal_fast')``. Training is unchanged.
    """

    def predict(self, batch_inputs: Tensor, batch_data_samples: list, rescale: bool = True) -> list:
        x = self.extract_feat(batch_inputs)
        proposals = self.rpn_head.predict(x, batch_data_samples, rescale=rescale)
        return self.add_pred_to_datasample(batch_data_samples, proposals)
