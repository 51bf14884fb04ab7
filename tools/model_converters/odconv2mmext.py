"""Convert the authors' ODConv ImageNet checkpoints (OSVAI/ODConv) into mmpretrain ``ImageClassifier`` ones.

"Omni-Dimensional Dynamic Convolution", ICLR 2022, arXiv 2209.07947.

The released ``checkpoint.pth.tar`` / ``model_best.pth.tar`` hold ``{'state_dict': ...}`` with DDP's ``module.``
prefix. mmext's :class:`~mmext.backbones.ODResNet` / :class:`~mmext.backbones.ODMobileNetV2` keep the released
module names (``layer1.0.conv1.weight [K, out, in, k, k]``, ``.attention.{fc,bn,channel_fc,filter_fc,
spatial_fc,kernel_fc}``, ``features.N...``), so conversion is: unwrap, drop ``module.``, prefix ``backbone.``, and
map the classifier (``fc.*`` for ResNet, ``classifier.1.*`` for MobileNetV2) to ``head.fc.*``. The temperature is
not stored (inference uses T = 1, the default of a freshly built model). For detection use the result with
``init_cfg=dict(type='Pretrained', checkpoint=..., prefix='backbone.')``.

Usage::

    python tools/model_converters/odconv2mmext.py od_resnet50_4x.pth.tar od_r50_4x_mmext.pth
"""
import argparse
from typing import Any, Dict, Mapping

import torch

from mmext.utils.checkpoint import load_release_checkpoint
from mmext.utils.dynamic_conv_convert import to_mmpretrain_classifier, unwrap_checkpoint

__all__ = ['convert', 'detect_arch', 'main']


def detect_arch(state: Mapping[str, torch.Tensor]) -> str:
    """``'resnet'`` or ``'mobilenet_v2'`` from the keys; a clear error for anything else."""
    if not any('.attention.channel_fc.' in k for k in state):
        raise ValueError('not an ODConv checkpoint: no "*.attention.channel_fc.*" key')
    if 'features.0.0.weight' in state:
        return 'mobilenet_v2'
    if 'conv1.weight' in state and any(k.startswith('layer1.') for k in state):
        return 'resnet'
    raise ValueError('unknown ODConv layout: expected OD-ResNet (conv1, layer1..4) or OD-MobileNetV2 (features.N)')


def convert(checkpoint: Mapping[str, Any]) -> Dict[str, torch.Tensor]:
    """Released ODConv checkpoint (or state dict) -> mmpretrain ``ImageClassifier`` state dict."""
    state = unwrap_checkpoint(checkpoint)
    arch = detect_arch(state)
    head = {'fc.': 'head.fc.'} if arch == 'resnet' else {'classifier.1.': 'head.fc.'}
    return to_mmpretrain_classifier(state, head)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description='Convert an OSVAI/ODConv checkpoint to mmext/mmpretrain keys')
    parser.add_argument('src', help='released checkpoint (.pth.tar)')
    parser.add_argument('dst', help='output path')
    args = parser.parse_args(argv)
    state = convert(load_release_checkpoint(args.src))
    torch.save({'state_dict': state, 'meta': {'converted_from': args.src}}, args.dst)
    print(f'saved {len(state)} tensors to {args.dst}')


if __name__ == '__main__':
    main()
