"""Group R-CNN (Zhang et al., CVPR 2022, arXiv:2205.05920): point grouping, cascade RoI head, detector, metric."""
from .group_rcnn import GroupRCNN
from .group_roi_head import GroupRoIHead
from .instance_assigner import InstanceLevelAssigner
from .point_grouping import PointProposalGrouper
from .pseudo_box_metric import PseudoBoxCocoMetric

__all__ = ['GroupRCNN', 'GroupRoIHead', 'InstanceLevelAssigner', 'PointProposalGrouper', 'PseudoBoxCocoMetric']
