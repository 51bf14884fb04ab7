"""Convert the HBONet checkpoints committed in d-li14/HBONet (``pretrained/*.pth``) into mmpretrain ones.

"HBONet: Harmonious Bottleneck on Two Orthogonal Dimensions", ICCV 2019, arXiv 1908.03888.

The released files are plain state dicts of the release's ``HBONet`` (``features.N.conv.M.*``,
``features.N.upconv.{0,1}.*``, ``conv.{0,1}.*``, ``classifier.{weight,bias}``). :class:`mmext.backbones.HBONet`
keeps those module names, so conversion is: unwrap (``state_dict`` / ``module.``), prefix ``backbone.``, and
``classifier.*`` -> ``head.fc.*``. Variant checkpoints (``pretrained/variant/*_8_divisible.pth``) need the
backbone's ``divisible_value=8`` (and ``arch='4x' | '8x'`` for those variants).

Usage::

    python tools/model_converters/hbonet2mmext.py pretrained/hbonet_1_0.pth checkpoints/hbonet_1_0_mmext.pth
"""
import argparse
from typing import Any, Dict, Mapping

import torch

from mmext.utils.checkpoint import load_release_checkpoint
from mmext.utils.dynamic_conv_convert import to_mmpretrain_classifier, unwrap_checkpoint

__all__ = ['convert', 'main']


def convert(checkpoint: Mapping[str, Any]) -> Dict[str, torch.Tensor]:
    """Released HBONet state dict -> mmpretrain ``ImageClassifier`` state dict."""
    state = unwrap_checkpoint(checkpoint)
    required = ('features.0.0.weight', 'conv.0.weight', 'classifier.weight')
    missing = [k for k in required if k not in state]
    if missing or not any('.upconv.' in k for k in state):
        raise ValueError(f'not an HBONet checkpoint: missing {missing or "any *.upconv.* key"}')
    return to_mmpretrain_classifier(state, {'classifier.': 'head.fc.'})


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description='Convert a d-li14/HBONet checkpoint to mmext/mmpretrain keys')
    parser.add_argument('src', help='released state dict (.pth)')
    parser.add_argument('dst', help='output path')
    args = parser.parse_args(argv)
    state = convert(load_release_checkpoint(args.src))
    torch.save({'state_dict': state, 'meta': {'converted_from': args.src}}, args.dst)
    print(f'saved {len(state)} tensors to {args.dst}')


if __name__ == '__main__':
    main()
