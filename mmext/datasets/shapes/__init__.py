"""The Shapes dataset: a deterministic generator of images with COCO, panoptic, semantic and classification labels."""
from .generator import (ALL_CLASSES, PALETTE, SHAPES_VERSION, STUFF_CLASSES, THING_CLASSES, draw_image,
                        generate_shapes, shapes_params)
from .prepare import ensure_shapes, prepare_shapes_root

__all__ = [
    'ALL_CLASSES', 'PALETTE', 'SHAPES_VERSION', 'STUFF_CLASSES', 'THING_CLASSES', 'draw_image', 'generate_shapes',
    'shapes_params', 'ensure_shapes', 'prepare_shapes_root'
]
