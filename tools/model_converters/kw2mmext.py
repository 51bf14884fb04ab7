"""Convert the authors' KernelWarehouse ImageNet checkpoints (OSVAI/KernelWarehouse) into mmpretrain ones.

"KernelWarehouse: Rethinking the Design of Dynamic Convolution", ICML 2024, arXiv 2406.07879.

Released checkpoints hold ``{'model': state_dict, 'model_ema': ..., ...}`` without ``module.``. mmext's
:class:`~mmext.backbones.KWResNet`, :class:`~mmext.backbones.KWMobileNetV2` and :class:`~mmext.backbones.KWConvNeXt`
rebuild the released module construction order, so warehouse indices (``warehouse_manager.weights.{i}``), each
layer's cell range and the attention keys (``*.attention.{fc1,norm1,fc2[,fc3,basis_bias]}``) keep their meaning;
conversion prefixes ``backbone.`` and maps the classifier (``fc.*`` ResNet, ``classifier.*`` MobileNetV2,
``head.*`` ConvNeXt) to ``head.fc.*`` and ConvNeXt's final ``norm.*`` to ``backbone.norm3.*``. KW-MobileNetV2 1/2x
(``KW1d2x_MobileNetV2``, target ``KWMobileNetV2(arch='0.5x')`` + :class:`~mmext.cls.KWLinearClsHead`): its KWLinear
classifier ``classifier.1.conv.*`` goes to ``head.fc.*`` and its warehouse (the last one, the only Conv1d-shaped
``[n, c_out, c_in, 1]``) to ``head.warehouse_manager.weights.0`` as ``[n, c_out, c_in]``. tau is not stored
(inference uses tau = 0, the default of a freshly built model). Build the target with the same settings as the
source (``cell_num_ratio``, cell ratios, ``sharing_range``, ``nonlocal_basis_ratio``).

Usage::

    python tools/model_converters/kw2mmext.py kw4x_resnet18.pth kw4x_r18_mmext.pth [--ema]
"""
import argparse
from typing import Any, Dict, Mapping, Optional

import torch

from mmext.utils.checkpoint import load_release_checkpoint
from mmext.utils.dynamic_conv_convert import to_mmpretrain_classifier, unwrap_checkpoint

__all__ = ['convert', 'detect_arch', 'main']


def detect_arch(state: Mapping[str, torch.Tensor]) -> str:
    """``'resnet'``, ``'mobilenet_v2'``, ``'mobilenet_v2_kwlinear'`` (1/2x) or ``'convnext'`` from the keys."""
    if not any(k.startswith('warehouse_manager.weights.') for k in state):
        raise ValueError('not a KernelWarehouse checkpoint: no "warehouse_manager.weights.*" key')
    if any(k.startswith('downsample_layers.') for k in state):
        return 'convnext'
    if any(k.startswith('features.') for k in state):
        if any(k.startswith('classifier.1.conv.') for k in state):
            return 'mobilenet_v2_kwlinear'
        return 'mobilenet_v2'
    if any(k.startswith('layer1.') for k in state):
        return 'resnet'
    raise ValueError('unknown KernelWarehouse layout: expected KW-ResNet, KW-MobileNetV2 or KW-ConvNeXt keys')


def _kwlinear_classifier(state: Mapping[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """KW-MobileNetV2 1/2x: the backbone as usual, the KWLinear classifier and its warehouse into the head."""
    prefix = 'warehouse_manager.weights.'
    ids = sorted(int(k[len(prefix):]) for k in state if k.startswith(prefix))
    linear = [i for i in ids if state[f'{prefix}{i}'].dim() == 4]
    if len(linear) != 1 or linear[0] != ids[-1] or state[f'{prefix}{linear[0]}'].shape[-1] != 1:
        raise ValueError('KW-MobileNetV2 1/2x checkpoint: expected exactly one KWLinear warehouse '
                         f'[n, c_out, c_in, 1], the last one; got 4-D warehouses {linear} of {ids}')
    key = f'{prefix}{linear[0]}'
    out = to_mmpretrain_classifier({k: v for k, v in state.items() if k != key}, {'classifier.1.conv.': 'head.fc.'})
    out['head.warehouse_manager.weights.0'] = state[key].squeeze(-1)
    return out


def convert(checkpoint: Mapping[str, Any], ema: bool = False) -> Dict[str, torch.Tensor]:
    """Released KernelWarehouse checkpoint -> mmpretrain ``ImageClassifier`` state dict.

    Args:
        checkpoint: The loaded file (or a state dict).
        ema (bool): Take ``model_ema`` instead of ``model``. Defaults to False.
    """
    state = unwrap_checkpoint(checkpoint, 'model_ema' if ema else None)
    arch = detect_arch(state)
    if arch == 'convnext':
        return to_mmpretrain_classifier(state, {'head.': 'head.fc.'}, {'norm.': 'norm3.'})
    if arch == 'mobilenet_v2_kwlinear':
        return _kwlinear_classifier(state)
    head: Optional[Dict[str, str]] = {'fc.': 'head.fc.'} if arch == 'resnet' else {'classifier.': 'head.fc.'}
    return to_mmpretrain_classifier(state, head)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description='Convert an OSVAI/KernelWarehouse checkpoint to mmext keys')
    parser.add_argument('src', help='released checkpoint (.pth)')
    parser.add_argument('dst', help='output path')
    parser.add_argument('--ema', action='store_true', help='convert the EMA weights (model_ema)')
    args = parser.parse_args(argv)
    state = convert(load_release_checkpoint(args.src), ema=args.ema)
    torch.save({'state_dict': state, 'meta': {'converted_from': args.src}}, args.dst)
    print(f'saved {len(state)} tensors to {args.dst}')


if __name__ == '__main__':
    main()
