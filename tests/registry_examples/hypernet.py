"""Registry examples: HyperNet's neck, proposal module, box head, RoI extractor and detectors (tiny widths)."""
from typing import Callable, Dict

from mmengine.config import ConfigDict

#: a RoI layer with a CPU kernel in mmcv (the tests also cover RoIPool through RoIPoolExtractor)
TINY_ROI_LAYER = dict(type='RoIAlign', output_size=13, sampling_ratio=1, pool_mode='avg', aligned=False)


def tiny_hypernet(conv_before_pool: bool = False, num_classes: int = 3, hyper_channels: int = 12,
                  detector: str = 'HyperNet') -> dict:
    """A HyperNet with a 1/16-width VGG-16 (4, 16, 32 channels at conv1/3/5), 12-channel Hyper Feature."""
    branch = hyper_channels // 3
    return ConfigDict(
        type=detector,
        data_preprocessor=dict(type='DetDataPreprocessor', mean=[103., 116., 123.], std=[58., 57., 57.],
                               bgr_to_rgb=False, pad_size_divisor=16),
        backbone=dict(type='RONVGG', fc_type=None, widen_factor=0.0625, out_names=('conv1_2', 'conv3_3', 'conv5_3'),
                      norm_cfg=dict(type='BN')),
        neck=dict(type='HyperFeatureNeck', in_channels=(4, 16, 32), branch_channels=branch),
        rpn_head=dict(type='HyperNetRPNHead', in_channels=hyper_channels, conv_before_pool=conv_before_pool,
                      fc_channels=16, roi_layer=TINY_ROI_LAYER, chunk_size=64,
                      anchor_generator=dict(type='AnchorGenerator', strides=[16], ratios=[0.5, 1.0, 2.0],
                                            scales=[1, 2])),
        roi_head=dict(
            type='StandardRoIHead',
            bbox_roi_extractor=dict(type='RoIPoolExtractor', roi_layer=TINY_ROI_LAYER, out_channels=hyper_channels,
                                    featmap_strides=[4]),
            bbox_head=dict(type='HyperNetBBoxHead', in_channels=hyper_channels, conv_out_channels=6,
                           fc_out_channels=16, num_classes=num_classes,
                           bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.] * 4,
                                           target_stds=[0.1, 0.1, 0.2, 0.2]),
                           loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0))),
        train_cfg=dict(
            rpn=dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.7, neg_iou_thr=0.3, min_pos_iou=0.3),
                     sampler=dict(type='RandomSampler', num=32, pos_fraction=0.5, add_gt_as_proposals=False),
                     allowed_border=-1),
            rpn_proposal=dict(nms_pre=200, max_per_img=20, nms=dict(type='nms', iou_threshold=0.7), min_bbox_size=0),
            rcnn=dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.5, min_pos_iou=0.5,
                                    match_low_quality=False),
                      sampler=dict(type='RandomSampler', num=16, pos_fraction=0.25, add_gt_as_proposals=True),
                      pos_weight=-1)),
        test_cfg=dict(rpn=dict(nms_pre=200, max_per_img=10, nms=dict(type='nms', iou_threshold=0.7), min_bbox_size=0),
                      rcnn=dict(score_thr=0.0, nms=dict(type='nms', iou_threshold=0.3), max_per_img=10)))


#: registered name -> function(tiny_shapes_root) -> config dict (with ``type``)
EXAMPLES: Dict[str, Callable[[str], dict]] = {
    'HyperFeatureNeck': lambda data_root: dict(type='HyperFeatureNeck', in_channels=(4, 16, 32), branch_channels=4),
    'HyperNetRPNHead': lambda data_root: dict(type='HyperNetRPNHead', in_channels=12, roi_layer=TINY_ROI_LAYER),
    'HyperNetBBoxHead': lambda data_root: dict(type='HyperNetBBoxHead', in_channels=12, conv_out_channels=6,
                                               fc_out_channels=16, num_classes=3),
    'RoIPoolExtractor': lambda data_root: dict(type='RoIPoolExtractor', roi_layer=dict(type='RoIPool', output_size=13),
                                               out_channels=12, featmap_strides=[4]),
    'HyperNet': lambda data_root: tiny_hypernet(),
    'TwoStageProposalDetector': lambda data_root: tiny_hypernet(detector='TwoStageProposalDetector'),
    'ProposalRecallMetric': lambda data_root: dict(type='ProposalRecallMetric', iou_thrs=[0.5],
                                                   ann_file=data_root + 'annotations/instances_val.json'),
}
