"""RON320 against mmdet's SSD300 on the same VGG-16, in one run: images/s for inference and for a train step.

Both models are built from their configs (``configs/ron/*`` and ``mmdet::ssd/ssd300_coco.py``) with the same
number of classes, fed synthetic batches of their own input size (320x320 / 300x300, a few boxes per image), and
timed with :func:`mmext.utils.measure` (median of ``--iters`` after ``--warmup``). Example::

    python tools/analysis_tools/benchmark_ron.py --batch-size 2 --iters 5 --warmup 1
"""
import argparse
import json
import os.path as osp
from typing import Dict

import torch
from mmdet.testing import demo_mm_inputs
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import MODELS, init_default_scope

import mmext  # noqa: F401
from mmext.utils import measure

MODELS_TO_RUN = {
    'RON320 (reduced VGG-16)': ('configs/ron/ron320_vgg16-reduced_1xb30-120k_voc0712.py', 320),
    'RON320 (full VGG-16)': ('configs/ron/ron320_vgg16_1xb20-120k_voc0712.py', 320),
    'SSD300 (reduced VGG-16)': ('mmdet::ssd/ssd300_coco.py', 300),
}
#: ``--light``: the Shapes pair trained in configs/ron/README.md (same 1/8-width VGG-16 with BN, 160x160 input)
LIGHT_MODELS_TO_RUN = {
    'RON160 light (Shapes)': ('configs/ron/ron160_vgg16-w0125-bn_1xb8-12e_shapes.py', 160),
    'SSD160 light (Shapes)': ('configs/ron/ssd160_vgg16-w0125-bn_1xb8-12e_shapes.py', 160),
}


def _config_path(config: str) -> str:
    """Resolve ``mmdet::path`` to the config shipped inside the installed mmdet package."""
    if config.startswith('mmdet::'):
        import mmdet
        return osp.join(osp.dirname(mmdet.__file__), '.mim', 'configs', config[len('mmdet::'):])
    return config


def _build(config: str, num_classes: int):
    cfg = Config.fromfile(_config_path(config))
    model_cfg = cfg.model
    model_cfg.backbone.init_cfg = None  # random weights: speed only
    model_cfg.bbox_head.num_classes = num_classes
    if model_cfg.bbox_head.type == 'SSDHead':
        model_cfg.bbox_head.type = 'SSDHeadCompat'  # mmdet 3.3's SSDHead cannot predict (see mmext/det)
    if model_cfg.bbox_head.type == 'RONHead':
        # random weights pass RON's objectness gate everywhere; cap the NMS input as mmdet's SSD300 test_cfg does
        # (nms_pre 1000, max 200 per image) so that both time the network and a same-sized NMS
        model_cfg.test_cfg.update(nms_pre=1000, max_per_img=200)
    init_default_scope('mmdet')
    model = MODELS.build(model_cfg)
    model.init_weights()
    return model, cfg.optim_wrapper


def bench(config: str, size: int, batch: int, num_classes: int, warmup: int, iters: int, device: str) -> Dict:
    model, optim_cfg = _build(config, num_classes)
    model.to(device)
    params = sum(p.numel() for p in model.parameters())
    packed = demo_mm_inputs(batch, image_shapes=(3, size, size), num_items=[4] * batch, num_classes=num_classes,
                            device=device)
    model.eval()
    with torch.no_grad():
        inf = measure(lambda: model.test_step(packed), warmup, iters, device)
    optim_wrapper = build_optim_wrapper(model, optim_cfg)
    model.train()
    train = measure(lambda: model.train_step(packed, optim_wrapper), warmup, iters, device)
    return dict(config=config, input=size, params_M=params / 1e6,
                inference=dict(inf, images_per_s=1000.0 * batch / inf['median_ms']),
                train_step=dict(train, images_per_s=1000.0 * batch / train['median_ms']))


def main() -> None:
    parser = argparse.ArgumentParser(description='RON320 vs SSD300 speed on the same VGG-16')
    parser.add_argument('--batch-size', type=int, default=2)
    parser.add_argument('--num-classes', type=int, default=20)
    parser.add_argument('--iters', type=int, default=5)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--skip-full', action='store_true', help='leave out RON320 on the full (4096-fc) VGG-16')
    parser.add_argument('--skip-ssd', action='store_true', help='leave out SSD300 (no ratios then)')
    parser.add_argument('--light', action='store_true',
                        help='time the Shapes light pair (RON160 vs SSD160, 1/8-width VGG-16) instead')
    args = parser.parse_args()
    results = dict(device=args.device, threads=torch.get_num_threads(), batch_size=args.batch_size, models={})
    to_run = LIGHT_MODELS_TO_RUN if args.light else MODELS_TO_RUN
    for name, (config, size) in to_run.items():
        if (args.skip_full and 'full' in name) or (args.skip_ssd and 'SSD' in name):
            continue
        results['models'][name] = bench(config, size, args.batch_size, args.num_classes, args.warmup, args.iters,
                                        args.device)
        print(name, json.dumps(results['models'][name]), flush=True)
    ssd_name = 'SSD160 light (Shapes)' if args.light else 'SSD300 (reduced VGG-16)'
    ssd = results['models'].get(ssd_name)
    for name, res in results['models'].items() if ssd else ():
        res['ratio_vs_ssd'] = dict(
            inference=res['inference']['images_per_s'] / ssd['inference']['images_per_s'],
            train_step=res['train_step']['images_per_s'] / ssd['train_step']['images_per_s'])
    print(json.dumps(results, indent=2))


if __name__ == '__main__':
    main()
