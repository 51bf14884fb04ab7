"""HyperNet (Kong et al., CVPR 2016, arXiv:1604.00600): Hyper Feature neck, proposal module, detection head."""
from .detector import HyperNet
from .hyper_feature_neck import HyperFeatureNeck
from .hypernet_bbox_head import HyperNetBBoxHead
from .hypernet_rpn_head import HyperNetRPNHead
from .proposal_detector import TwoStageProposalDetector
from .proposal_recall_metric import ProposalRecallMetric
from .roi_pool_extractor import RoIPoolExtractor

__all__ = ['HyperFeatureNeck', 'HyperNet', 'HyperNetBBoxHead', 'HyperNetRPNHead', 'ProposalRecallMetric',
           'RoIPoolExtractor', 'TwoStageProposalDetector']
