"""Convert the authors' ImageNet PS-ResNet / PS-ResNeXt checkpoints (d-li14/PSConv) into mmpretrain ones.

"PSConv: Squeezing Feature Pyramid into One Compact Poly-Scale Convolutional Layer", ECCV 2020, arXiv 2007.06191.

The released backbones keep torchvision's names (``conv1``, ``bn1``, ``layerX.Y.conv2.{gwconv,gwconv_shift,conv}``,
``downsample.{0,1}``, ``fc``), possibly inside ``{'state_dict': ...}`` with DDP's ``module.`` prefix. The output is
an mmpretrain ``ImageClassifier`` state dict (``backbone.*``, ``head.fc.*``); for detection use it with
``init_cfg=dict(type='Pretrained', checkpoint=..., prefix='backbone.')``.

``--layout``:

* ``auto`` (default): compact (effective weights only, mmext's default ``weight_layout``) when the dense weights are
  zero wherever the correct mask is set -- PS-ResNet; otherwise the release layout is kept and the model must be
  built with ``weight_layout='release', release_compat=True`` -- expected for PS-ResNeXt, trained with the
  release's grouped-mask bug, whose extra unmasked weights compaction would drop;
* ``compact`` / ``release``: force one (``compact`` refuses weights it cannot compact losslessly).

Usage::

    python tools/model_converters/psconv2mmext.py ps_resnet50.pth checkpoints/ps_r50_mmext.pth
"""
import argparse
from typing import Any, Dict, Mapping, Tuple

import torch

from mmext.utils.checkpoint import load_release_checkpoint
from mmext.utils.dynamic_conv_convert import to_mmpretrain_classifier, unwrap_checkpoint
from mmext.utils.psconv_convert import compact_psconv_state, find_psconv_prefixes, masked_nonzeros

__all__ = ['convert', 'convert_with_layout', 'main']


def convert_with_layout(checkpoint: Mapping[str, Any], layout: str = 'auto') -> Tuple[Dict[str, torch.Tensor], str]:
    """Released checkpoint (or state dict) -> (mmpretrain state dict, the weight layout it is in)."""
    if layout not in ('auto', 'compact', 'release'):
        raise ValueError(f"layout must be 'auto', 'compact' or 'release', got {layout!r}")
    state = unwrap_checkpoint(checkpoint)
    prefixes = find_psconv_prefixes(state)
    if not prefixes:
        raise ValueError('not a PSConv checkpoint: no "*.gwconv_shift.weight" with a sibling "*.conv.weight"')
    if not ('conv1.weight' in state and 'fc.weight' in state):
        raise ValueError('unknown layout: expected a PS-ResNet/ResNeXt classifier (conv1, layer1..4, fc)')
    if layout == 'auto':
        layout = 'compact' if all(masked_nonzeros(state, p) == 0 for p in prefixes) else 'release'
    if layout == 'compact':
        state = compact_psconv_state(state)
    return to_mmpretrain_classifier(state, {'fc.': 'head.fc.'}), layout


def convert(checkpoint: Mapping[str, Any]) -> Dict[str, torch.Tensor]:
    """Released checkpoint -> mmpretrain ``ImageClassifier`` state dict (``--layout auto``)."""
    return convert_with_layout(checkpoint)[0]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description='Convert a d-li14/PSConv ImageNet checkpoint to mmext keys')
    parser.add_argument('src', help='released checkpoint (.pth)')
    parser.add_argument('dst', help='output path')
    parser.add_argument('--layout', default='auto', choices=['auto', 'compact', 'release'])
    args = parser.parse_args(argv)
    state, layout = convert_with_layout(load_release_checkpoint(args.src), args.layout)
    torch.save({'state_dict': state, 'meta': {'converted_from': args.src, 'psconv_weight_layout': layout}},
               args.dst)
    hint = '' if layout == 'compact' else " -- build the backbone with weight_layout='release', release_compat=True"
    print(f'saved {len(state)} tensors to {args.dst} (PSConv weight_layout={layout!r}){hint}')


if __name__ == '__main__':
    main()
