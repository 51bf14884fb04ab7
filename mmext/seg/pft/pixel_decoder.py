"""Building the pixel decoder of PFT: mmdet's ``MSDeformAttnPixelDecoder``, reused through the mmseg registry.

"Pyramid Fusion Transformer for Semantic Segmentation", Qin et al., arXiv 2201.04019. The paper's pixel decoder
gives three pyramid levels (1/32, 1/16, 1/8) and a 1/4-resolution mask feature, which is what mmdet's
multi-scale deformable-attention pixel decoder (Mask2Former's) returns with ``num_outs=3``. Its attention is mmcv's
``MultiScaleDeformableAttention``, which falls back to a pure-PyTorch path on the CPU.
"""
import copy
from typing import Sequence

from mmengine.config import ConfigDict
from mmengine.model import BaseModule

__all__ = ['build_pft_pixel_decoder']


def build_pft_pixel_decoder(cfg: dict, in_channels: Sequence[int], strides: Sequence[int], feat_channels: int,
                            out_channels: int, num_levels: int, registry) -> BaseModule:
    """Check a pixel-decoder config against the head's settings and build it.

    Args:
        cfg (dict): Pixel decoder config, e.g. ``dict(type='mmdet.MSDeformAttnPixelDecoder', num_outs=3,
            encoder=dict(...))``. ``in_channels``, ``strides``, ``feat_channels`` and ``out_channels`` are filled
            in from the head.
        in_channels (Sequence[int]): Channels of the backbone levels, high to low resolution.
        strides (Sequence[int]): Strides of those levels.
        feat_channels (int): Channels of the multi-scale outputs.
        out_channels (int): Channels of the 1/4-resolution mask feature.
        num_levels (int): Number of multi-scale outputs the decoder must give (one per PFT branch).
        registry: The registry to build from (mmseg's ``MODELS``; ``mmdet.`` types resolve through it).

    Returns:
        BaseModule: A module whose ``forward(feats)`` returns ``(mask_feature, [level_0, ..., level_{L-1}])``
        with levels from low to high resolution.
    """
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise ValueError(f'pixel_decoder must be a config dict with a type, got {cfg!r}')
    if len(in_channels) != len(strides):
        raise ValueError(f'in_channels ({list(in_channels)}) and strides ({list(strides)}) must have equal length')
    if len(in_channels) < num_levels:
        raise ValueError(f'num_transformer_feat_level={num_levels} needs at least that many input levels, '
                         f'got in_channels={list(in_channels)}')
    cfg = ConfigDict(copy.deepcopy(dict(cfg)))
    num_outs = cfg.get('num_outs', num_levels)
    if num_outs != num_levels:
        raise ValueError(f'pixel_decoder.num_outs must equal num_transformer_feat_level={num_levels}, '
                         f'got {num_outs}')
    encoder_levels = (cfg.get('encoder') or {}).get('layer_cfg', {}).get('self_attn_cfg', {}).get('num_levels')
    if encoder_levels is not None and encoder_levels != num_levels:
        raise ValueError('pixel_decoder.encoder.layer_cfg.self_attn_cfg.num_levels must equal '
                         f'num_transformer_feat_level={num_levels}, got {encoder_levels}')
    cfg.update(in_channels=list(in_channels), strides=list(strides), feat_channels=feat_channels,
               out_channels=out_channels, num_outs=num_levels)
    return registry.build(cfg)
