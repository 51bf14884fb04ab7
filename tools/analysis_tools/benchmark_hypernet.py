"""HyperNet, HyperNet-SP and mmdet's Faster R-CNN (C5, FPN) on the same VGG-16, in one run; and the proposal
module's peak memory with ~36k initial boxes.

Speed (default): the four Shapes configs of ``configs/hypernet/`` (1/8-width VGG-16 with BN, 256x256 input) are
built with random weights (or ``--checkpoints DIR`` holding ``<config stem>/epoch_2.pth``), fed synthetic batches
(4 boxes per image) and timed with :func:`mmext.utils.measure`; the models are timed in ``--rounds`` interleaved
rounds (order reversed every round) so that a shared machine's load hits them alike, and the median over all
timed calls is reported with ratios against HyperNet (full) and Faster R-CNN C5.

Memory (``--proposal-memory``): in a fresh subprocess per setting, the VOC proposal module
(``configs/hypernet/hypernet_vgg16_1xb2-4e_voc0712.py``: 126 channels, 35,910 initial boxes on 1000x600) scores
one image's initial boxes from a random Hyper Feature; the growth of the peak RSS over that call is reported for
full / SP and chunked / unchunked scoring. Examples::

    python tools/analysis_tools/benchmark_hypernet.py --batch-size 1 --iters 3 --rounds 2
    python tools/analysis_tools/benchmark_hypernet.py --proposal-memory
"""
import argparse
import json
import os.path as osp
import statistics
import subprocess
import sys
from typing import Dict

import torch
from mmdet.testing import demo_mm_inputs
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import MODELS, init_default_scope
from mmengine.runner import load_checkpoint

import mmext  # noqa: F401
from mmext.utils import measure, peak_rss_mib

SHAPES_MODELS = {
    'HyperNet': 'configs/hypernet/hypernet_vgg16-w0125-bn_1xb4-2e_shapes.py',
    'HyperNet-SP': 'configs/hypernet/hypernet-sp_vgg16-w0125-bn_1xb4-2e_shapes.py',
    'Faster R-CNN C5': 'configs/hypernet/faster-rcnn_vgg16-w0125-bn-c5_1xb4-2e_shapes.py',
    'Faster R-CNN FPN': 'configs/hypernet/faster-rcnn_vgg16-w0125-bn_fpn_1xb4-2e_shapes.py',
}
VOC_CONFIG = 'configs/hypernet/hypernet_vgg16_1xb2-4e_voc0712.py'


def _build(config: str, checkpoints: str = None):
    cfg = Config.fromfile(config)
    init_default_scope('mmdet')
    model = MODELS.build(cfg.model)
    model.init_weights()
    if checkpoints:
        stem = osp.splitext(osp.basename(config))[0].replace('_1xb4-2e_shapes', '')
        load_checkpoint(model, osp.join(checkpoints, stem, 'epoch_2.pth'), map_location='cpu')
    return model, cfg.optim_wrapper


def speed(args) -> Dict:
    packed = demo_mm_inputs(args.batch_size, image_shapes=(3, 256, 256), num_items=[4] * args.batch_size,
                            num_classes=5, device='cpu')
    models = {name: _build(cfg, args.checkpoints) for name, cfg in SHAPES_MODELS.items()}
    optims = {name: build_optim_wrapper(m, o) for name, (m, o) in models.items()}
    times = {name: dict(inference=[], train_step=[]) for name in models}
    names = list(models)
    for r in range(args.rounds):
        for name in (names if r % 2 == 0 else names[::-1]):
            model = models[name][0]
            model.eval()
            with torch.no_grad():
                inf = measure(lambda: model.test_step(packed), args.warmup, args.iters)
            model.train()
            train = measure(lambda: model.train_step(packed, optims[name]), args.warmup, args.iters)
            times[name]['inference'].append(inf['median_ms'])
            times[name]['train_step'].append(train['median_ms'])
            print(name, f'round {r}', json.dumps(dict(inference_ms=inf['median_ms'], train_ms=train['median_ms'])),
                  flush=True)
    out = {}
    for name, t in times.items():
        params = sum(p.numel() for p in models[name][0].parameters())
        out[name] = dict(config=SHAPES_MODELS[name], params_M=params / 1e6,
                         inference_images_per_s=1000.0 * args.batch_size / statistics.median(t['inference']),
                         train_step_ms=statistics.median(t['train_step']) / args.batch_size)
    for ref in ('HyperNet', 'Faster R-CNN C5'):
        for name, res in out.items():
            res[f'inference_speed_vs_{ref}'] = res['inference_images_per_s'] / out[ref]['inference_images_per_s']
            res[f'train_step_time_vs_{ref}'] = res['train_step_ms'] / out[ref]['train_step_ms']
    return dict(batch_size=args.batch_size, threads=torch.get_num_threads(), rounds=args.rounds, iters=args.iters,
                models=out)


def _memory_child(sp: bool, chunk: int) -> None:
    cfg = Config.fromfile(VOC_CONFIG)
    init_default_scope('mmdet')
    head_cfg = cfg.model.rpn_head
    head_cfg.update(conv_before_pool=sp, chunk_size=chunk or None, test_cfg=cfg.model.test_cfg.rpn)
    head = MODELS.build(head_cfg).eval()
    meta = dict(img_shape=(600, 1000), pad_shape=(608, 1008), batch_input_shape=(608, 1008), scale_factor=(1., 1.))
    feat = (torch.randn(1, 126, 152, 252), )
    with torch.no_grad():
        head.predict_by_feat(feat, [meta])  # warm-up (allocator, kernels)
    before = peak_rss_mib()
    with torch.no_grad():
        res = head.predict_by_feat(feat, [meta])[0]
    num_boxes = len(head.initial_boxes([meta], 'cpu')[0])
    print(json.dumps(dict(sp=sp, chunk_size=chunk or None, initial_boxes=num_boxes, proposals=len(res),
                          peak_rss_growth_mib=peak_rss_mib() - before, peak_rss_mib=peak_rss_mib())))


def proposal_memory() -> Dict:
    results = []
    for sp in (False, True):
        for chunk in (2048, 0):
            out = subprocess.run([sys.executable, __file__, '--_memory-child', str(int(sp)), str(chunk)],
                                 capture_output=True, text=True, check=True)
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(results[-1], flush=True)
    return dict(proposal_memory=results)


def main() -> None:
    parser = argparse.ArgumentParser(description='HyperNet / HyperNet-SP / Faster R-CNN speed and memory')
    parser.add_argument('--batch-size', type=int, default=1)
    parser.add_argument('--iters', type=int, default=3)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--rounds', type=int, default=2)
    parser.add_argument('--checkpoints', default=None, help='folder with <config stem>/epoch_2.pth (optional)')
    parser.add_argument('--proposal-memory', action='store_true')
    parser.add_argument('--_memory-child', nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._memory_child:
        _memory_child(bool(args._memory_child[0]), args._memory_child[1])
        return
    print(json.dumps(proposal_memory() if args.proposal_memory else speed(args), indent=2))


if __name__ == '__main__':
    main()
