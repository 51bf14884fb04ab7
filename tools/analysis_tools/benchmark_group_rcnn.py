"""Train-step time of the Group R-CNN teacher against a plain Cascade R-CNN on the same backbone and FPN, one run.

Both models use the Shapes teacher's ResNet-18 (half width) + FPN 64 on strides 8/16/32 and a 3-stage cascade
with Shared2FC heads (fc 256); the Cascade R-CNN is mmdet's ``cascade-rcnn_r50_fpn_1x_coco.py`` with that backbone,
neck and head width (RPN anchors on the same strides, its own 512-RoI sampling per stage). The teacher is timed with
the Shapes config's 20 proposals per point and with the release's 50. Synthetic 256x256 batches with ``--boxes``
objects per image (points at the box centres) are timed with :func:`mmext.utils.measure` in ``--rounds``
interleaved rounds (order reversed every round, so that a shared machine's load hits all models alike); the median
train step per image and the ratios against Cascade R-CNN are printed as JSON. Example::

    python tools/analysis_tools/benchmark_group_rcnn.py --batch-size 4 --iters 3 --rounds 2
"""
import argparse
import json
import os.path as osp
import statistics
from typing import Dict

import mmdet
import torch
from mmdet.testing import demo_mm_inputs
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import MODELS, init_default_scope

import mmext  # noqa: F401
from mmext.utils import measure

TEACHER = 'configs/group_rcnn/group-rcnn_r18-c32_fpn_1xb4-12e_shapes-10p.py'
CASCADE = osp.join(osp.dirname(mmdet.__file__), '.mim', 'configs', 'cascade_rcnn', 'cascade-rcnn_r50_fpn_1x_coco.py')


def _cascade_cfg(teacher_cfg: Config) -> Config:
    cfg = Config.fromfile(CASCADE)
    model, t = cfg.model, teacher_cfg.model
    model.data_preprocessor = t.data_preprocessor
    model.backbone = t.backbone
    model.neck = t.neck
    channels = t.neck.out_channels
    model.rpn_head.update(in_channels=channels, feat_channels=channels)
    model.rpn_head.anchor_generator.update(scales=[4], strides=[8, 16, 32])
    model.roi_head.bbox_roi_extractor.update(out_channels=channels, featmap_strides=[8, 16, 32])
    for head in model.roi_head.bbox_head:
        head.update(in_channels=channels, fc_out_channels=t.roi_head.bbox_head.fc_out_channels,
                    num_classes=t.roi_head.num_classes)
    return cfg


def _build(model_cfg, optim_cfg):
    init_default_scope('mmdet')
    torch.manual_seed(0)
    model = MODELS.build(model_cfg)
    model.init_weights()
    return model, build_optim_wrapper(model, optim_cfg)


def speed(args) -> Dict:
    teacher_cfg = Config.fromfile(TEACHER)
    cascade_cfg = _cascade_cfg(teacher_cfg)
    release_topk = teacher_cfg.model.copy()
    release_topk.rpn_nms_topk = 50
    specs = {
        'Group R-CNN (Shapes config, 20 proposals/point)': teacher_cfg.model,
        'Group R-CNN (release 50 proposals/point)': release_topk,
        'Cascade R-CNN': cascade_cfg.model,
    }
    models = {name: _build(cfg, teacher_cfg.optim_wrapper) for name, cfg in specs.items()}
    packed = demo_mm_inputs(args.batch_size, image_shapes=(3, 256, 256), num_items=[args.boxes] * args.batch_size,
                            num_classes=5, device='cpu')
    for sample in packed['data_samples']:
        boxes = sample.gt_instances.bboxes
        boxes = boxes.tensor if hasattr(boxes, 'tensor') else boxes
        sample.gt_instances.points = (boxes[:, :2] + boxes[:, 2:]) / 2
    times = {name: [] for name in models}
    names = list(models)
    for r in range(args.rounds):
        for name in (names if r % 2 == 0 else names[::-1]):
            model, optim = models[name]
            model.train()
            res = measure(lambda: model.train_step(packed, optim), args.warmup, args.iters)
            times[name].append(res['median_ms'])
            print(name, f'round {r}', json.dumps(dict(train_ms=res['median_ms'])), flush=True)
    out = {}
    for name, t in times.items():
        out[name] = dict(params_M=sum(p.numel() for p in models[name][0].parameters()) / 1e6,
                         train_step_ms_per_image=statistics.median(t) / args.batch_size)
    ref = out['Cascade R-CNN']['train_step_ms_per_image']
    for res in out.values():
        res['train_step_time_vs_cascade'] = res['train_step_ms_per_image'] / ref
    return dict(batch_size=args.batch_size, boxes_per_image=args.boxes, threads=torch.get_num_threads(),
                rounds=args.rounds, iters=args.iters, models=out)


def main() -> None:
    parser = argparse.ArgumentParser(description='Group R-CNN vs Cascade R-CNN train-step time')
    parser.add_argument('--batch-size', type=int, default=4)
    parser.add_argument('--boxes', type=int, default=4, help='objects (and points) per image')
    parser.add_argument('--iters', type=int, default=3)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--rounds', type=int, default=2)
    args = parser.parse_args()
    print(json.dumps(speed(args), indent=2))


if __name__ == '__main__':
    main()
