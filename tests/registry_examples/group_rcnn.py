"""Registry examples: Group R-CNN's detector, RoI head, assigner, pseudo-box metric, point dataset and transforms."""
import os.path as osp
import tempfile
from typing import Callable, Dict

from mmengine.config import ConfigDict

from tests.conftest import TINY_SHAPES


def tiny_group_roi_head(num_classes: int = 3) -> dict:
    return dict(
        type='GroupRoIHead', num_classes=num_classes, num_stages=3, stage_loss_weights=[1, 0.5, 0.25],
        pos_iou_thrs=[0.5, 0.6, 0.7], norm_groups=4,
        stage_target_stds=[[0.1, 0.1, 0.2, 0.2], [0.05, 0.05, 0.1, 0.1], [0.033, 0.033, 0.067, 0.067]],
        bbox_roi_extractor=dict(type='SingleRoIExtractor', roi_layer=dict(type='RoIAlign', output_size=7,
                                                                          sampling_ratio=0),
                                out_channels=16, featmap_strides=[8, 16]),
        bbox_head=dict(type='Shared2FCBBoxHead', in_channels=16, fc_out_channels=16, roi_feat_size=7,
                       num_classes=num_classes, reg_class_agnostic=True,
                       bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.] * 4)))


def tiny_group_rcnn(num_classes: int = 3) -> dict:
    return ConfigDict(
        type='GroupRCNN', rpn_nms_topk=8,
        data_preprocessor=dict(type='DetDataPreprocessor', mean=[123., 116., 103.], std=[58., 57., 57.],
                               pad_size_divisor=32),
        backbone=dict(type='ResNet', depth=18, base_channels=8, out_indices=(1, 2), init_cfg=None),
        neck=dict(type='FPN', in_channels=[16, 32], out_channels=16, num_outs=2),
        rpn_head=dict(type='RetinaHead', num_classes=num_classes, in_channels=16, feat_channels=16, stacked_convs=1,
                      anchor_generator=dict(type='AnchorGenerator', octave_base_scale=4, scales_per_octave=1,
                                            ratios=[1.0], strides=[8, 16]),
                      bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.] * 4, target_stds=[1.] * 4)),
        roi_head=tiny_group_roi_head(num_classes),
        train_cfg=dict(rpn=dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.4,
                                              min_pos_iou=0),
                                sampler=dict(type='PseudoSampler'), allowed_border=-1, pos_weight=-1),
                       rcnn=None),
        test_cfg=dict(rpn=dict(nms_pre=100, score_thr=0.05, nms=dict(type='nms', iou_threshold=0.5),
                               max_per_img=10), rcnn=None))


def _point_dataset(name: str) -> Callable[[str], dict]:
    def build(root: str) -> dict:
        cfg = dict(type=name, data_root=root, ann_file='annotations/instances_train.json',
                   data_prefix=dict(img='images/train/'), box_ratio=0.5, pipeline=[])
        if name == 'ShapesPointDataset':
            cfg['shapes_cfg'] = TINY_SHAPES
        return cfg
    return build


EXAMPLES: Dict[str, Callable[[str], dict]] = {
    'GroupRCNN': lambda root: tiny_group_rcnn(),
    'GroupRoIHead': lambda root: tiny_group_roi_head(),
    'InstanceLevelAssigner': lambda root: dict(type='InstanceLevelAssigner', pos_iou_thr=0.5),
    'PseudoBoxCocoMetric': lambda root: dict(type='PseudoBoxCocoMetric',
                                             ann_file=root + 'annotations/instances_train.json',
                                             outfile_prefix=osp.join(tempfile.gettempdir(), 'mmext_pseudo')),
    'PointCocoDataset': _point_dataset('PointCocoDataset'),
    'ShapesPointDataset': _point_dataset('ShapesPointDataset'),
    'LoadPointAnnotations': lambda root: dict(type='LoadPointAnnotations'),
    'PointResize': lambda root: dict(type='PointResize', scale=(64, 64), keep_ratio=True),
    'PointRandomFlip': lambda root: dict(type='PointRandomFlip', prob=0.5),
    'PointRandomCrop': lambda root: dict(type='PointRandomCrop', crop_size=(32, 32)),
    'PackPointDetInputs': lambda root: dict(type='PackPointDetInputs'),
}
