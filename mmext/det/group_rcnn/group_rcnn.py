"""Group R-CNN: a point-to-box converter for point-based weakly semi-supervised detection.

Zhang, Yu, Liu, Wang, Zhou, Chen, "Group R-CNN for Point-based Weakly Semi-supervised Object Detection",
CVPR 2022, arXiv:2205.05920 (release: jshilong/GroupRCNN, mmdet 2.22). Given one annotated point (and class) per
instance, Group R-CNN returns exactly one box per point:

1. a RetinaHead (with the real class count, trained as a normal RetinaNet on the box-labelled images) scores the
   anchors of the locations nearest to each point; :class:`PointProposalGrouper` keeps the best ``rpn_nms_topk``
   boxes of the point's class after NMS (instance-level proposal grouping);
2. the FPN features are **detached** (the RoI head does not train the backbone, as in the release) and passed
   through ``num_projection_convs`` 3x3 conv + ReLU;
3. :class:`GroupRoIHead` refines each group in 3 cascade stages and picks one box per point.

Points travel in ``data_sample.gt_instances.points`` (N, 2) (see :mod:`mmext.datasets.point_transforms`); at
test time the data samples must carry the points and labels of the instances to convert.
"""
from typing import Dict, List, Optional, Tuple

import torch.nn as nn
import torch.nn.functional as F
from mmdet.models.detectors import TwoStageDetector
from mmdet.models.utils import unpack_gt_instances
from mmdet.registry import MODELS
from mmdet.structures import SampleList
from mmdet.structures.bbox import scale_boxes
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig
from mmengine.config import ConfigDict
from torch import Tensor

from ...registry import register
from .point_grouping import PointProposalGrouper

__all__ = ['GroupRCNN']


@register('MODELS', scopes=['mmdet'])
class GroupRCNN(TwoStageDetector):
    """Group R-CNN on mmdet 3.x's ``TwoStageDetector``.

    Args:
        backbone, neck, data_preprocessor, init_cfg: As :class:`mmdet.models.TwoStageDetector`.
        rpn_head (dict): A ``RetinaHead`` config with ``num_classes`` = the dataset's classes (not forced to 1).
        roi_head (dict): A :class:`GroupRoIHead` config.
        train_cfg (dict): ``dict(rpn=<RetinaHead train_cfg>, rcnn=None)``.
        test_cfg (dict): ``dict(rpn=<RetinaHead test_cfg>, rcnn=None)``.
        pre_topk (int): Nearest locations per point and level. Defaults to 3.
        rpn_iou (float): NMS IoU of the grouping. Defaults to 0.7.
        rpn_nms_topk (int): Proposals per point. Defaults to 50.
        rpn_max_num (int): Boxes kept by the grouping NMS per image. Defaults to 1000.
        num_projection_convs (int): 3x3 conv + ReLU layers on the detached features. Defaults to 1.
    """

    def __init__(self,
                 backbone: ConfigType,
                 rpn_head: ConfigType,
                 roi_head: ConfigType,
                 train_cfg: ConfigType,
                 test_cfg: ConfigType,
                 neck: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None,
                 pre_topk: int = 3,
                 rpn_iou: float = 0.7,
                 rpn_nms_topk: int = 50,
                 rpn_max_num: int = 1000,
                 num_projection_convs: int = 1) -> None:
        for name, cfg in (('train_cfg', train_cfg), ('test_cfg', test_cfg)):
            if cfg is None or 'rpn' not in cfg:
                raise KeyError(f'GroupRCNN: {name} must be dict(rpn=<RetinaHead {name}>, rcnn=None), got {cfg!r}')
        if rpn_head.get('type') not in ('RetinaHead', 'mmdet.RetinaHead'):
            raise ValueError(f'GroupRCNN: rpn_head must be a RetinaHead, got {rpn_head.get("type")!r}')
        if int(num_projection_convs) < 0:
            raise ValueError(f'GroupRCNN: num_projection_convs must be >= 0, got {num_projection_convs}')
        super().__init__(backbone=backbone, neck=neck, rpn_head=None, roi_head=roi_head,
                         train_cfg=ConfigDict(rcnn=None), test_cfg=ConfigDict(rcnn=None),
                         data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.train_cfg, self.test_cfg = train_cfg, test_cfg
        # TwoStageDetector would force an RPN to one class; Group R-CNN's RetinaHead needs the real classes.
        self.rpn_head = MODELS.build(dict(rpn_head, train_cfg=train_cfg['rpn'], test_cfg=test_cfg['rpn']))
        if self.rpn_head.num_classes != self.roi_head.num_classes:
            raise ValueError(f'GroupRCNN: rpn_head.num_classes={self.rpn_head.num_classes} != '
                             f'roi_head.num_classes={self.roi_head.num_classes}')
        channels = self.rpn_head.in_channels
        self.projection_convs = nn.ModuleList(
            [nn.Conv2d(channels, channels, 3, padding=1) for _ in range(int(num_projection_convs))])
        self.grouper = PointProposalGrouper(pre_topk, rpn_iou, rpn_nms_topk, rpn_max_num)

    # ------------------------------------------------------------------ helpers
    def project(self, x: Tuple[Tensor]) -> List[Tensor]:
        """Detach the FPN features (no RoI-head gradient reaches the backbone) and apply the projection convs."""
        feats = [f.detach() for f in x]
        for conv in self.projection_convs:
            feats = [F.relu(conv(f)) for f in feats]
        return feats

    @staticmethod
    def _points_and_labels(batch_data_samples: SampleList) -> Tuple[List[Tensor], List[Tensor]]:
        points, labels = [], []
        for i, sample in enumerate(batch_data_samples):
            gt = sample.gt_instances
            if 'points' not in gt or 'labels' not in gt:
                raise KeyError(f'GroupRCNN: data sample {i} has no gt_instances.points / labels; the pipeline needs '
                               f'LoadAnnotations + LoadPointAnnotations and PackPointDetInputs (also at test time: '
                               f'Group R-CNN converts the given points into boxes)')
            if gt.points.dim() != 2 or gt.points.size(-1) != 2 or len(gt.points) != len(gt.labels):
                raise ValueError(f'GroupRCNN: data sample {i}: gt_instances.points must be (N, 2) with one point '
                                 f'per label, got {tuple(gt.points.shape)} for {len(gt.labels)} labels')
            points.append(gt.points)
            labels.append(gt.labels)
        return points, labels

    def _groups(self, rpn_outs, batch_data_samples: SampleList):
        points, labels = self._points_and_labels(batch_data_samples)
        metas = [s.metainfo for s in batch_data_samples]
        groups = self.grouper(self.rpn_head, rpn_outs[0], rpn_outs[1], points, labels, metas)
        return groups, points, labels, metas

    # ------------------------------------------------------------------ modes
    def loss(self, batch_inputs: Tensor, batch_data_samples: SampleList) -> Dict[str, Tensor]:
        """RetinaHead losses on the boxes plus the cascade losses of the groups around the points."""
        x = self.extract_feat(batch_inputs)
        gts, gts_ignore, metas = unpack_gt_instances(batch_data_samples)
        rpn_outs = self.rpn_head(x)
        losses = {f'rpn_{k}': v for k, v in
                  self.rpn_head.loss_by_feat(*rpn_outs, gts, metas, gts_ignore).items()}
        groups, _, _, _ = self._groups(rpn_outs, batch_data_samples)
        losses.update(self.roi_head.loss(self.project(x), groups, gts))
        return losses

    def predict(self, batch_inputs: Tensor, batch_data_samples: SampleList, rescale: bool = True) -> SampleList:
        """One box per annotated point, in ``pred_instances`` (boxes in the original image when ``rescale``)."""
        x = self.extract_feat(batch_inputs)
        rpn_outs = self.rpn_head(x)
        groups, points, labels, metas = self._groups(rpn_outs, batch_data_samples)
        results = self.roi_head.predict(self.project(x), groups, points, labels, metas)
        if rescale:
            for res, meta in zip(results, metas):
                res.bboxes = scale_boxes(res.bboxes, [1 / s for s in meta['scale_factor']])
        return self.add_pred_to_datasample(batch_data_samples, results)

    def _forward(self, batch_inputs: Tensor, batch_data_samples: Optional[SampleList] = None) -> tuple:
        """``tensor`` mode: RetinaHead outputs, then (cls, reg) of every stage when the samples carry points."""
        x = self.extract_feat(batch_inputs)
        rpn_outs = self.rpn_head(x)
        if not batch_data_samples:
            return tuple(rpn_outs)
        groups, points, labels, metas = self._groups(rpn_outs, batch_data_samples)
        return tuple(rpn_outs) + self.roi_head.forward(self.project(x), groups, points, labels, metas)
