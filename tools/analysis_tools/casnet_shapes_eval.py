"""Evaluate trained models on their val set in one run: the config's metrics, overlap / holes of every prediction, and
inference speed as a ratio to the first model (CASNet vs Mask R-CNN / PanopticFPN on Shapes).

For each ``CONFIG CHECKPOINT`` pair: runs the config's test dataloader through ``model.test_step``, feeds the
config's test evaluator (CocoMetric, CocoPanopticMetric) and measures on every image's predicted instances (from
``pred_instances`` with score >= ``--score-thr``, else from the thing segments of ``pred_panoptic_seg``) the
fraction of claimed pixels claimed by two or more instances and the fraction of instances with a hole
(:func:`mmext.det.cas_clustering.instance_topology_stats`; both hole definitions). The ground truth of the
instance annotation file is measured the same way. The class-agnostic mask AP (pycocotools ``useCats=0`` on
``--gt-ann``, every predicted instance) separates finding and delineating the instances from classifying them.
Inference time is that of ``test_step`` (preprocessing, forward,
post-process; no data loading, no metric), wall and CPU (process) time. Example::

    python tools/analysis_tools/casnet_shapes_eval.py \\
        configs/casnet/casnet_r18-c32_fpn_1xb4-2e_shapes128-panoptic.py work_dirs/casnet/epoch_2.pth \\
        configs/casnet/mask-rcnn_r18-c32_fpn_1xb4-2e_shapes128-instance.py work_dirs/mrcnn/epoch_2.pth
"""
import argparse
import json
import time
from typing import Dict, List

import numpy as np
import torch
from mmdet.evaluation.functional import INSTANCE_OFFSET
from mmdet.registry import METRICS, MODELS
from mmengine.config import Config, DictAction
from mmengine.evaluator import Evaluator
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

import mmext  # noqa: F401
from mmext.det.cas_clustering import instance_topology_stats, merge_topology_stats
from mmext.utils.checkpoint import safe_load


def predicted_masks(sample, score_thr: float) -> np.ndarray:
    """(N, H, W) bool instance masks of one prediction."""
    if 'pred_instances' in sample:
        inst = sample.pred_instances
        keep = inst.scores >= score_thr
        return inst.masks[keep].cpu().numpy().astype(bool)
    pan = sample.pred_panoptic_seg.sem_seg[0].cpu().numpy()
    ids = [i for i in np.unique(pan) if i >= INSTANCE_OFFSET]
    return np.stack([pan == i for i in ids]) if ids else np.zeros((0, ) + pan.shape, bool)


def class_agnostic_segm_ap(ann_file: str, results: List[Dict]) -> Dict[str, float]:
    """COCO mask AP ignoring the classes (pycocotools ``useCats=0``): how well the instances are found and
    delineated, whatever class they get."""
    if not results:
        return dict(segm_mAP=0.0, segm_mAP_50=0.0)
    coco = COCO(ann_file)
    evaluator = COCOeval(coco, coco.loadRes(results), 'segm')
    evaluator.params.useCats = 0
    evaluator.params.imgIds = sorted({r['image_id'] for r in results})
    evaluator.evaluate()
    evaluator.accumulate()
    evaluator.summarize()
    return dict(segm_mAP=round(float(evaluator.stats[0]), 4), segm_mAP_50=round(float(evaluator.stats[1]), 4))


def coco_results(sample, masks: np.ndarray) -> List[Dict]:
    """Class-agnostic COCO results of one prediction (``pred_instances`` scores, else 1 per panoptic segment)."""
    scores = sample.pred_instances.scores.cpu().numpy() if 'pred_instances' in sample else np.ones(len(masks))
    out = []
    for m, score in zip(masks, scores):
        rle = mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))
        rle['counts'] = rle['counts'].decode()
        out.append(dict(image_id=int(sample.img_id), category_id=1, segmentation=rle, score=float(score)))
    return out


def gt_stats(ann_file: str) -> Dict[str, float]:
    coco = COCO(ann_file)
    stats = []
    for img_id in coco.getImgIds():
        anns = coco.loadAnns(coco.getAnnIds(imgIds=[img_id]))
        info = coco.loadImgs([img_id])[0]
        masks = np.stack([coco.annToMask(a).astype(bool) for a in anns]) if anns else np.zeros(
            (0, info['height'], info['width']), bool)
        stats.append(instance_topology_stats(masks))
    return merge_topology_stats(stats)


def evaluate(config: str, checkpoint: str, score_thrs: List[float], gt_ann: str, options: Dict = None) -> Dict:
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(options or {})
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    model = MODELS.build(cfg.model)
    model.load_state_dict(safe_load(checkpoint, map_location='cpu')['state_dict'])
    model.eval()
    loader = Runner.build_dataloader(cfg.test_dataloader)
    metrics_cfg = cfg.test_evaluator if isinstance(cfg.test_evaluator, list) else [cfg.test_evaluator]
    evaluator = Evaluator([METRICS.build(m) for m in metrics_cfg])
    evaluator.dataset_meta = loader.dataset.metainfo
    wall = cpu = 0.0
    images = 0
    topo: Dict[float, List[Dict]] = {t: [] for t in score_thrs}
    agnostic: List[Dict] = []
    for batch in loader:
        w0, c0 = time.perf_counter(), time.process_time()
        with torch.no_grad():
            outputs = model.test_step(batch)
        wall += time.perf_counter() - w0
        cpu += time.process_time() - c0
        images += len(outputs)
        for t in score_thrs:
            topo[t] += [instance_topology_stats(predicted_masks(s, t)) for s in outputs]
        agnostic += [r for s in outputs for r in coco_results(s, predicted_masks(s, 0.0))]
        evaluator.process(data_samples=outputs, data_batch=batch)
    metrics = evaluator.evaluate(len(loader.dataset))
    return dict(config=config, checkpoint=checkpoint, images=images,
                metrics={k: round(float(v), 4) for k, v in metrics.items() if np.isscalar(v)},
                topology={f'score>={t}': merge_topology_stats(v) for t, v in topo.items()},
                class_agnostic=class_agnostic_segm_ap(gt_ann, agnostic),
                images_per_s_wall=images / wall, images_per_s_cpu=images / cpu,
                params=sum(p.numel() for p in model.parameters()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('pairs', nargs='+', help='CONFIG CHECKPOINT [CONFIG CHECKPOINT ...]')
    parser.add_argument('--score-thr', type=float, nargs='+', default=[0.05, 0.3, 0.5],
                        help='least scores of a pred_instances mask counted in the overlap / hole statistics')
    parser.add_argument('--gt-ann', default='data/shapes/annotations/instances_val.json')
    parser.add_argument('--out', help='write the JSON here too')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='key=value overrides applied to every config (e.g. model.instance_classifier.score=...)')
    args = parser.parse_args()
    if len(args.pairs) % 2:
        raise SystemExit(f'pairs: expected CONFIG CHECKPOINT pairs, got {len(args.pairs)} arguments')
    torch.manual_seed(0)
    results = [evaluate(c, k, args.score_thr, args.gt_ann, args.cfg_options)
               for c, k in zip(args.pairs[::2], args.pairs[1::2])]
    base = results[0]
    for r in results:
        r['speed_ratio_wall'] = round(r['images_per_s_wall'] / base['images_per_s_wall'], 3)
        r['speed_ratio_cpu'] = round(r['images_per_s_cpu'] / base['images_per_s_cpu'], 3)
    out = dict(score_thrs=args.score_thr, torch_threads=torch.get_num_threads(), ground_truth=gt_stats(args.gt_ann),
               models=results)
    text = json.dumps(out, indent=2)
    print(text)
    if args.out:
        with open(args.out, 'w') as f:
            f.write(text)


if __name__ == '__main__':
    main()
