"""Time the NOAH head against GAP + LinearClsHead on the features of the same backbone (same run, same inputs).

"NOAH: Learning Pairwise Object Category Attentions for Image Classification" (Chao Li, Aojun Zhou, Anbang Yao;
arXiv:2402.02377, 2024). The backbone runs once; then each head's forward (eval mode, no_grad) is timed on that
feature map, and so is each whole model.
Prints JSON and, with ``--markdown``, a table row for docs/benchmarks.md. Example::

    python tools/analysis_tools/benchmark_noah_head.py --arch resnet18 --batch-size 16 --img-size 224 --iters 20
"""
import argparse
import json
from typing import Dict, Tuple

import torch
from mmengine.registry import init_default_scope

import mmext  # noqa: F401  (registers NOAHHead)
from mmext.utils import measure

__all__ = ['ARCHS', 'build_pair', 'main']

#: arch -> (backbone cfg, channels, head_num, key_ratio): the paper's settings (configs/noah)
ARCHS: Dict[str, Tuple[dict, int, int, float]] = {
    'resnet18': (dict(type='ResNet', depth=18, out_indices=(3, )), 512, 4, 0.5),
    'resnet50': (dict(type='ResNet', depth=50, out_indices=(3, )), 2048, 4, 0.125),
    'mobilenet_v2': (dict(type='MobileNetV2', widen_factor=1.0), 1280, 8, 0.25),
    'deit_tiny': (dict(type='VisionTransformer', arch='deit-tiny', img_size=224, patch_size=16,
                       with_cls_token=False, out_type='featmap'), 192, 4, 0.5),
}


def build_pair(arch: str, num_classes: int, img_size: int):
    """(NOAH classifier, linear classifier) sharing one backbone's weights."""
    from mmpretrain.registry import MODELS
    backbone, channels, heads, key_ratio = ARCHS[arch]
    backbone = dict(backbone)
    if backbone['type'] == 'VisionTransformer':
        backbone['img_size'] = img_size
    noah = MODELS.build(dict(type='ImageClassifier', backbone=backbone, neck=None,
                             head=dict(type='NOAHHead', num_classes=num_classes, in_channels=channels,
                                       head_num=heads, key_ratio=key_ratio)))
    linear = MODELS.build(dict(type='ImageClassifier', backbone=backbone, neck=dict(type='GlobalAveragePooling'),
                               head=dict(type='LinearClsHead', num_classes=num_classes, in_channels=channels)))
    linear.backbone.load_state_dict(noah.backbone.state_dict())
    return noah.eval(), linear.eval()


def main() -> None:
    parser = argparse.ArgumentParser(description='Benchmark the NOAH head against GAP + LinearClsHead')
    parser.add_argument('--arch', choices=sorted(ARCHS), default='resnet18')
    parser.add_argument('--batch-size', type=int, default=16)
    parser.add_argument('--img-size', type=int, default=224)
    parser.add_argument('--num-classes', type=int, default=1000)
    parser.add_argument('--iters', type=int, default=20)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--markdown', action='store_true', help='also print a docs/benchmarks.md table row')
    args = parser.parse_args()

    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    noah, linear = build_pair(args.arch, args.num_classes, args.img_size)
    noah, linear = noah.to(args.device), linear.to(args.device)
    x = torch.randn(args.batch_size, 3, args.img_size, args.img_size, device=args.device)
    with torch.no_grad():
        feats = noah.extract_feat(x)
        heads = dict(
            noah=measure(lambda: noah.head(feats), args.warmup, args.iters, args.device),
            linear=measure(lambda: linear.head(linear.neck(feats)), args.warmup, args.iters, args.device))
        models = dict(
            noah=measure(lambda: noah(x, mode='tensor'), args.warmup, args.iters, args.device),
            linear=measure(lambda: linear(x, mode='tensor'), args.warmup, args.iters, args.device))
    params = {k: sum(p.numel() for p in m.parameters()) for k, m in (('noah', noah), ('linear', linear))}
    result = dict(
        arch=args.arch, device=args.device, threads=torch.get_num_threads(), batch_size=args.batch_size,
        img_size=args.img_size, feature_shape=list(feats[-1].shape), params=params,
        head_ms=dict(noah=heads['noah']['median_ms'], linear=heads['linear']['median_ms']),
        head_ratio=heads['noah']['median_ms'] / heads['linear']['median_ms'],
        model_ms=dict(noah=models['noah']['median_ms'], linear=models['linear']['median_ms']),
        model_ratio=models['noah']['median_ms'] / models['linear']['median_ms'])
    print(json.dumps(result, indent=2))
    if args.markdown:
        print(f"| {args.arch} | {args.device} ({result['threads']} thr) | {args.batch_size}x3x{args.img_size}² | "
              f"{tuple(result['feature_shape'])} | {result['head_ms']['linear']:.3f} | {result['head_ms']['noah']:.3f}"
              f" | {result['head_ratio']:.2f} | {result['model_ms']['linear']:.1f} | "
              f"{result['model_ms']['noah']:.1f} | {result['model_ratio']:.3f} |")


if __name__ == '__main__':
    main()
