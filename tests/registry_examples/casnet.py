"""Registry examples: CASNet's detector, semantic head, box-aligned logits, instance classifier, attribute head."""
from typing import Callable, Dict

_TINY_GN = dict(type='GN', num_groups=4, requires_grad=True)

#: registered name -> function(tiny_shapes_root) -> config dict (with ``type``)
EXAMPLES: Dict[str, Callable[[str], dict]] = {
    'CASSemanticHead': lambda data_root: dict(type='CASSemanticHead', num_things_classes=5, num_stuff_classes=3,
                                              in_channels=16, inner_channels=16, norm_cfg=_TINY_GN),
    'CASBoxLogits': lambda data_root: dict(type='CASBoxLogits', in_channels=16, num_things=5, grid=3, channels=8),
    'CASInstanceClassifier': lambda data_root: dict(type='CASInstanceClassifier', in_channels=16, num_things=5,
                                                    roi_size=3, channels=8, fc_channels=16),
    'CASAttributeHead': lambda data_root: dict(type='CASAttributeHead', in_channels=16, feat_channels=16,
                                               norm_cfg=_TINY_GN),
    'CASNet': lambda data_root: dict(
        type='CASNet',
        backbone=dict(type='ResNet', depth=18, base_channels=8, out_indices=(0, 1, 2, 3), init_cfg=None),
        neck=dict(type='FPN', in_channels=[8, 16, 32, 64], out_channels=16, num_outs=4),
        semantic_head=dict(type='CASSemanticHead', num_things_classes=5, num_stuff_classes=1, in_channels=16,
                           inner_channels=16, norm_cfg=_TINY_GN),
        attribute_head=dict(type='CASAttributeHead', in_channels=16, feat_channels=16, norm_cfg=_TINY_GN)),
}
