"""Convert the authors' NOAH checkpoints (https://github.com/OSVAI/NOAH) to mmext / mmpretrain.

"NOAH: Learning Pairwise Object Category Attentions for Image Classification" (Chao Li, Aojun Zhou, Anbang Yao;
arXiv:2402.02377, 2024).

Supported layouts (detected from the keys) and the configs they load into:

- ResNet-18/50/101/152 (torchvision layout, ``conv1``, ``layer1.0.conv1``, ...) -> ``configs/noah/resnet*_noah_*``;
- MobileNetV2 (``features.N...``) -> ``configs/noah/mobilenet-v2-*_noah_*``;
- DeiT (timm layout, ``blocks.N...``, no class token) -> ``configs/noah/deit-tiny_noah_*``.

The NOAH head's ``head.query.*`` / ``head.value.*`` keep their names. The authors' MobileNetV3, ShuffleNetV2, PVT,
Mixer and gMLP models have no matching mmpretrain backbone layout here and are refused with a clear error, as
are DeiT x0.5/x0.75 (their ``pre_logits`` Linear+Tanh has no counterpart in :class:`mmext.cls.NOAHHead`).

Usage::

    python tools/model_converters/noah2mmext.py noah_resnet18.pth.tar resnet18_noah_mmext.pth
"""
import argparse
import re
from collections import OrderedDict
from typing import Any, Dict, List, Mapping, Optional

import torch

__all__ = ['convert', 'unwrap_state_dict', 'detect_arch', 'main']

HEAD_KEYS = ('head.query.weight', 'head.query.bias', 'head.value.weight', 'head.value.bias')
# MobileNetV2 inverted-residual blocks per stage (t, c, n, s table of the paper): features.1 .. features.17
MBV2_BLOCKS = (1, 2, 3, 4, 3, 3, 1)


def unwrap_state_dict(checkpoint: Mapping[str, Any]) -> Dict[str, torch.Tensor]:
    """The tensors of a checkpoint: ``{'state_dict': ...}``, ``{'model': ...}`` (DeiT's main.py) or a raw state
    dict; a DataParallel/DDP ``module.`` prefix is removed."""
    if not isinstance(checkpoint, Mapping):
        raise TypeError(f'checkpoint must be a dict, got {type(checkpoint).__name__}')
    state = checkpoint
    for key in ('state_dict', 'model'):
        if key in checkpoint and isinstance(checkpoint[key], Mapping):
            state = checkpoint[key]
            break
    out = OrderedDict()
    for k, v in state.items():
        if not isinstance(v, torch.Tensor):
            continue
        out[k[len('module.'):] if k.startswith('module.') else k] = v
    return out


def detect_arch(state_dict: Mapping[str, torch.Tensor]) -> str:
    """``'resnet'``, ``'mobilenet_v2'`` or ``'deit'`` from the key layout; a clear error otherwise."""
    missing = [k for k in HEAD_KEYS if k not in state_dict]
    if missing:
        if any(k.startswith('classifier.query') for k in state_dict):
            raise ValueError('this is a NOAH MobileNetV3 checkpoint (classifier.* head); mmpretrain\'s '
                             'MobileNetV3 layout differs from the authors\' one and is not supported')
        raise ValueError(f'not a NOAH checkpoint: missing {missing} (expected the keys {list(HEAD_KEYS)})')
    if 'pre_logits.fc.weight' in state_dict:
        raise ValueError('DeiT x0.5/x0.75 checkpoints have a pre_logits Linear+Tanh before NOAH, which '
                         'mmext.cls.NOAHHead does not have; not supported')
    if 'blocks.0.attn.qkv.weight' in state_dict:
        return 'deit'
    if 'features.0.0.weight' in state_dict:
        return 'mobilenet_v2'
    if 'layer1.0.conv1.weight' in state_dict and 'conv1.weight' in state_dict:
        return 'resnet'
    raise ValueError('unknown NOAH backbone layout: expected ResNet (conv1/layer1..4), MobileNetV2 (features.N) '
                     'or DeiT (blocks.N) keys; ShuffleNetV2, PVT, Mixer and gMLP are not supported')


def _mbv2_key(key: str, state_dict: Mapping[str, torch.Tensor]) -> str:
    """``features.I.rest`` (authors' / torchvision MobileNetV2) -> mmpretrain ``MobileNetV2`` key."""
    m = re.match(r'features\.(\d+)\.(.+)$', key)
    if m is None:
        raise ValueError(f'unexpected MobileNetV2 key {key!r}')
    index, rest = int(m.group(1)), m.group(2)
    num_blocks = sum(MBV2_BLOCKS)
    if index in (0, num_blocks + 1):  # stem / last 1x1 ConvBNReLU: .0 = conv, .1 = bn
        sub = re.match(r'([01])\.(.+)$', rest)
        if sub is None:
            raise ValueError(f'unexpected MobileNetV2 key {key!r}')
        return f'{"conv1" if index == 0 else "conv2"}.{("conv", "bn")[int(sub.group(1))]}.{sub.group(2)}'
    if index > num_blocks:
        raise ValueError(f'unexpected MobileNetV2 key {key!r}: features.{index} is beyond the '
                         f'{num_blocks + 2} modules of MobileNetV2')
    block = index - 1
    stage = 0
    while block >= MBV2_BLOCKS[stage]:
        block -= MBV2_BLOCKS[stage]
        stage += 1
    prefix = f'layer{stage + 1}.{block}.conv'
    # ConvBNReLU modules inside the block: conv.J.0 (conv) / conv.J.1 (bn) -> ConvModule J
    sub = re.match(r'conv\.(\d+)\.([01])\.(.+)$', rest)
    if sub is not None:
        return f'{prefix}.{sub.group(1)}.{("conv", "bn")[int(sub.group(2))]}.{sub.group(3)}'
    # the bare pw-linear Conv2d (index J, 4-D weight) and its BatchNorm2d (index J + 1) -> ConvModule J
    sub = re.match(r'conv\.(\d+)\.([a-z_]+)$', rest)
    if sub is None:
        raise ValueError(f'unexpected MobileNetV2 key {key!r}')
    j = int(sub.group(1))
    weight = state_dict.get(f'features.{index}.conv.{j}.weight')
    if weight is None:
        raise ValueError(f'unexpected MobileNetV2 key {key!r}: features.{index}.conv.{j}.weight is missing')
    if weight.dim() == 4:
        return f'{prefix}.{j}.conv.{sub.group(2)}'
    return f'{prefix}.{j - 1}.bn.{sub.group(2)}'


def _convert_mbv2(state_dict: Mapping[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    out = OrderedDict()
    for key, value in state_dict.items():
        out[key if key.startswith('head.') else 'backbone.' + _mbv2_key(key, state_dict)] = value
    return out


def _convert_deit(state_dict: Mapping[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    rules = [
        (r'^patch_embed\.proj\.', 'patch_embed.projection.'),
        (r'^blocks\.(\d+)\.norm1\.', r'layers.\1.ln1.'),
        (r'^blocks\.(\d+)\.norm2\.', r'layers.\1.ln2.'),
        (r'^blocks\.(\d+)\.attn\.', r'layers.\1.attn.'),
        (r'^blocks\.(\d+)\.mlp\.fc1\.', r'layers.\1.ffn.layers.0.0.'),
        (r'^blocks\.(\d+)\.mlp\.fc2\.', r'layers.\1.ffn.layers.1.'),
        (r'^norm\.', 'ln1.'),
        (r'^pos_embed$', 'pos_embed'),
    ]
    out = OrderedDict()
    for key, value in state_dict.items():
        if key.startswith('head.'):
            out[key] = value
            continue
        if key in ('cls_token', 'dist_token'):
            raise ValueError(f'{key!r} found: NOAH DeiT models have no class/distillation token')
        for pattern, repl in rules:
            new, n = re.subn(pattern, repl, key)
            if n:
                out['backbone.' + new] = value
                break
        else:
            raise ValueError(f'unexpected DeiT key {key!r}')
    return out


def convert(state_dict: Mapping[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Map an authors' NOAH state dict to the keys of mmpretrain's ``ImageClassifier`` with a NOAH head.

    Args:
        state_dict: The tensors, as returned by :func:`unwrap_state_dict`.

    Returns:
        dict: ``backbone.*`` (mmpretrain ``ResNet``, ``MobileNetV2`` or ``VisionTransformer`` names) and
        ``head.query.*`` / ``head.value.*``; tensors are not copied.

    Raises:
        ValueError: The layout is not a supported NOAH checkpoint (the message says which one it looks like).
    """
    arch = detect_arch(state_dict)
    if arch == 'mobilenet_v2':
        return _convert_mbv2(state_dict)
    if arch == 'deit':
        return _convert_deit(state_dict)
    out = OrderedDict()
    for key, value in state_dict.items():  # torchvision ResNet names equal mmpretrain's ResNet(style='pytorch')
        out[key if key.startswith('head.') else 'backbone.' + key] = value
    return out


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description='Convert an OSVAI/NOAH checkpoint to mmext (mmpretrain)')
    parser.add_argument('src', help='the authors\' checkpoint (.pth / .pth.tar)')
    parser.add_argument('dst', help='output path of the converted checkpoint')
    args = parser.parse_args(argv)

    from mmext.utils.checkpoint import load_release_checkpoint  # weights only + argparse.Namespace
    # the authors' DeiT checkpoints also hold the training script's argparse.Namespace (plain values only)
    with torch.serialization.safe_globals([argparse.Namespace]):
        checkpoint = load_release_checkpoint(args.src)
    src = unwrap_state_dict(checkpoint)
    arch = detect_arch(src)
    state = convert(src)
    torch.save(dict(state_dict=state, meta=dict(converted_from=args.src, converter='noah2mmext')), args.dst)
    print(f'converted {len(state)} tensors of a NOAH {arch} checkpoint -> {args.dst}')


if __name__ == '__main__':
    main()
