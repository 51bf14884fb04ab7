"""CASNet's post-process on ground-truth ("oracle") head outputs: the ceiling that the stride-4 clustering, the
resizing and the hole filling leave, measured by the config's own CocoMetric on the val set.

For every val image the semantic logits (one-hot of the stride-4 semantic targets) and the attributes (box
distances, mass-centre offsets, quality) are built from the ground truth exactly as the training targets are, and
``CASNet.predict`` runs on them instead of the network.

With ``--checkpoint`` the trained network runs and only the parts named by ``--oracle`` are replaced by the ground
truth, which tells which part of a trained model limits its AP / PQ:

* ``semantic``: the semantic logits (things and stuff, every cell);
* ``class``: only the split of the predicted p(thing) among the thing classes, on the cells an instance owns
  (which pixels are things stays the network's);
* ``attributes``: box distances and centre offsets, on the cells an instance owns (elsewhere the network's);
* ``quality``: the seed quality, high on owned cells (elsewhere the network's);
* none (``--oracle`` alone): the network's outputs through the same path, its plain evaluation.

Examples::

    python tools/analysis_tools/casnet_oracle_eval.py configs/casnet/casnet_r18-c32_fpn_1xb4-2e_shapes128-instance.py
    python tools/analysis_tools/casnet_oracle_eval.py CONFIG --checkpoint work_dirs/x/epoch_18.pth --oracle class
"""
import argparse
import json

import torch
from mmdet.registry import METRICS, MODELS
from mmengine.config import Config, DictAction
from mmengine.evaluator import Evaluator
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

import mmext  # noqa: F401
from mmext.det.cas_clustering import instance_topology_stats, merge_topology_stats
from mmext.det.cas_targets import semantic_targets
from mmext.utils.checkpoint import safe_load

ORACLE_PARTS = ('semantic', 'class', 'attributes', 'quality')


def oracle_outputs(model, inputs, samples):
    """Head outputs built from the ground truth of ``samples`` (one-hot semantics, exact attributes)."""
    head = model.attribute_head
    s = head.stride
    h, w = inputs.shape[-2] // s, inputs.shape[-1] // s
    sem_t = semantic_targets(samples, model.num_things, model.num_stuff, s, (h, w))
    c = model.num_things + model.num_stuff
    logits = torch.full((len(samples), c, h, w), -10.)
    valid = sem_t < c
    onehot = torch.nn.functional.one_hot(sem_t.clamp(max=c - 1), c).permute(0, 3, 1, 2).float() * 20
    logits = torch.where(valid[:, None], logits + onehot, logits)
    tgt = head.encode_targets((h, w), samples)
    return dict(seg_preds=logits), dict(dist=tgt['dist'].clamp(min=1e-3), centre=tgt['centre'],
                                        quality=torch.full((len(samples), 1, h, w), 5.), owner=tgt['owner'])


def hybrid_outputs(model, heads, inputs, samples, parts):
    """The network's head outputs (``heads``: the model's own ``_heads``) with the ``parts`` (a subset of
    :data:`ORACLE_PARTS`) from the ground truth."""
    with torch.no_grad():
        sem_out, attr_out = heads(inputs)
    gt_sem, gt_attr = oracle_outputs(model, inputs, samples)
    seg = sem_out['seg_preds']
    if 'semantic' in parts:
        seg = gt_sem['seg_preds']
    elif 'class' in parts:  # the GT thing class, with the network's p(thing)
        t = model.num_things
        probs = seg.softmax(dim=1)
        gt_cls = gt_sem['seg_preds'][:, :t].argmax(dim=1)
        onehot = torch.nn.functional.one_hot(gt_cls, t).permute(0, 3, 1, 2).float()
        things = torch.where((gt_attr['owner'] >= 0)[:, None], probs[:, :t].sum(1, keepdim=True) * onehot,
                             probs[:, :t])
        seg = torch.cat([things, probs[:, t:]], dim=1).clamp(min=1e-8).log()
    owned = (gt_attr['owner'] >= 0)[:, None]
    attr = dict(attr_out)
    if 'attributes' in parts:
        attr['dist'] = torch.where(owned, gt_attr['dist'], attr_out['dist'])
        if 'centre' in attr_out:
            attr['centre'] = torch.where(owned, gt_attr['centre'], attr_out['centre'])
    if 'quality' in parts:
        attr['quality'] = torch.where(owned, gt_attr['quality'], attr_out['quality'])
    return dict(sem_out, seg_preds=seg), attr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config keys, e.g. '
                        'model.test_cfg.grow_cells=0')
    parser.add_argument('--checkpoint', help='a trained model: run it and replace only the --oracle parts')
    parser.add_argument('--oracle', nargs='*', choices=ORACLE_PARTS, default=list(ORACLE_PARTS),
                        help='parts taken from the ground truth (with --checkpoint; without it, all of them); '
                        '--oracle with no part: the network alone')
    args = parser.parse_args()
    if not args.checkpoint and set(args.oracle) != set(ORACLE_PARTS):
        parser.error('--oracle with a subset of the parts needs --checkpoint (the other parts come from it)')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope('mmdet')
    model = MODELS.build(cfg.model)
    if args.checkpoint:
        model.load_state_dict(safe_load(args.checkpoint, map_location='cpu')['state_dict'])
    model.eval()
    loader_cfg = cfg.val_dataloader.to_dict()
    pipeline = loader_cfg['dataset']['pipeline']
    load = dict(type='LoadPanopticAnnotations') if 'Panoptic' in loader_cfg['dataset']['type'] else dict(
        type='LoadAnnotations', with_bbox=True, with_mask=True)
    loader_cfg['dataset']['pipeline'] = [pipeline[0], load] + pipeline[1:]
    loader_cfg.update(num_workers=0, persistent_workers=False)
    loader = Runner.build_dataloader(loader_cfg)
    metrics_cfg = cfg.val_evaluator if isinstance(cfg.val_evaluator, list) else [cfg.val_evaluator]
    evaluator = Evaluator([METRICS.build(m) for m in metrics_cfg])
    evaluator.dataset_meta = loader.dataset.metainfo
    topo = []
    network_heads = model._heads
    for batch in loader:
        data = model.data_preprocessor(batch, True)  # training=True keeps and pads the ground truth
        if args.checkpoint:
            outs = hybrid_outputs(model, network_heads, data['inputs'], data['data_samples'], set(args.oracle))
        else:
            sem, attr = oracle_outputs(model, data['inputs'], data['data_samples'])
            outs = sem, {k: v for k, v in attr.items() if k != 'owner'}
        model._heads = lambda inputs, outs=outs: outs
        with torch.no_grad():
            preds = model.predict(data['inputs'], data['data_samples'])
        topo += [instance_topology_stats(p.pred_instances.masks.numpy()) for p in preds if 'pred_instances' in p]
        evaluator.process(data_samples=preds, data_batch=batch)
    metrics = evaluator.evaluate(len(loader.dataset))
    print(json.dumps(dict(config=args.config, checkpoint=args.checkpoint,
                          oracle=sorted(args.oracle), metrics={k: float(v) for k, v in metrics.items()},
                          topology=merge_topology_stats(topo)), indent=2))


if __name__ == '__main__':
    main()
