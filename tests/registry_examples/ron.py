"""Registry examples: RON's backbone, neck, head, anchor generator and assigner (tiny widths)."""
from typing import Callable, Dict

#: registered name -> function(tiny_shapes_root) -> config dict (with ``type``)
EXAMPLES: Dict[str, Callable[[str], dict]] = {
    'RONVGG': lambda data_root: dict(type='RONVGG', widen_factor=0.125, norm_cfg=dict(type='BN')),
    'RONNeck': lambda data_root: dict(type='RONNeck', in_channels=(64, 64, 128, 128), out_channels=32),
    'RONHead': lambda data_root: dict(type='RONHead', num_classes=5, in_channels=32, tower_channels=16,
                                      cls_channels=16),
    'RONAnchorGenerator': lambda data_root: dict(type='RONAnchorGenerator', strides=(8, 16, 32, 64)),
    'RONAssigner': lambda data_root: dict(type='RONAssigner', pos_iou_thr=0.5, neg_iou_thr=(0.001, 0.3),
                                          min_pos_iou=0.1),
    'SSDHeadCompat': lambda data_root: dict(
        type='SSDHeadCompat', num_classes=5, in_channels=(16, 16), anchor_generator=dict(
            type='SSDAnchorGenerator', scale_major=False, input_size=64, min_sizes=[8, 16], max_sizes=[16, 32],
            strides=[8, 16], ratios=[[2], [2]]),
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[.0, .0, .0, .0], target_stds=[0.1, 0.1, 0.2, 0.2])),
}
