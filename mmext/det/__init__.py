"""mmdet-only components (necks, dense heads, RoI heads, detectors ...)."""
from .cas_attribute_head import CASAttributeHead
from .cas_instance_classifier import CASInstanceClassifier
from .cas_semantic_head import CASSemanticHead
from .casnet import CASNet
from .group_rcnn import GroupRCNN, GroupRoIHead, InstanceLevelAssigner, PointProposalGrouper, PseudoBoxCocoMetric
from .hypernet import (HyperFeatureNeck, HyperNet, HyperNetBBoxHead, HyperNetRPNHead, ProposalRecallMetric,
                       RoIPoolExtractor, TwoStageProposalDetector)
from .ron_anchor_generator import RONAnchorGenerator
from .ron_assigner import RONAssigner
from .ron_head import RONHead
from .ron_neck import RONNeck
from .ssd_head_compat import SSDHeadCompat

__all__ = [
    'CASAttributeHead', 'CASInstanceClassifier', 'CASNet', 'CASSemanticHead', 'GroupRCNN', 'GroupRoIHead',
    'InstanceLevelAssigner', 'PointProposalGrouper', 'PseudoBoxCocoMetric', 'HyperFeatureNeck', 'HyperNet', 'HyperNetBBoxHead',
    'HyperNetRPNHead', 'ProposalRecallMetric', 'RoIPoolExtractor', 'TwoStageProposalDetector', 'RONAnchorGenerator',
    'RONAssigner', 'RONHead', 'RONNeck', 'SSDHeadCompat'
]
