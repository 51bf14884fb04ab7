"""CASNet's analysis tools run: the post-process benchmark and the Shapes evaluation (metrics, overlap, holes)."""
import json
import subprocess
import sys

import pytest
import torch

from tests.conftest import REPO, TINY_SHAPES, run_tool, write_config


@pytest.mark.slow
def test_benchmark_casnet_postprocess_small():
    out = run_tool(['tools/analysis_tools/benchmark_casnet_postprocess.py', '--height', '128', '--width', '256',
                    '--instances', '5', '--iters', '1', '--warmup', '0'])
    res = json.loads(out.stdout[out.stdout.index('{'):])
    assert res['head_cells'] == [32, 64] and res['instances_found'] >= 1
    assert set(res['median_per_image']) == {'cluster', 'resize', 'fill_holes', 'whole_postprocess'}


@pytest.mark.slow
def test_casnet_shapes_eval_tool(tiny_shapes, tmp_path):
    """One untrained tiny CASNet checkpoint through the evaluation tool: stock metrics and zero overlap / holes."""
    from mmdet.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import mmext  # noqa: F401
    lines = [f'data_root = {tiny_shapes!r}', f'shapes_cfg = {TINY_SHAPES!r}',
             'val_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False, '
             'dataset=dict(data_root=data_root, shapes_cfg=shapes_cfg))', 'test_dataloader = val_dataloader',
             "test_evaluator = [dict(type='CocoPanopticMetric', ann_file=data_root + "
             "'annotations/panoptic_val.json', seg_prefix=data_root + 'annotations/panoptic_val/'), "
             "dict(type='CocoMetric', ann_file=data_root + 'annotations/instances_val.json', "
             "metric=['bbox', 'segm'])]"]
    cfg_path = write_config(str(tmp_path / 'cas.py'), 'configs/casnet/casnet_r18-c32_fpn_1xb4-2e_shapes128-panoptic.py',
                            '\n'.join(lines))
    init_default_scope('mmdet')
    model = MODELS.build(Config.fromfile(cfg_path).model)
    model.init_weights()
    ckpt = str(tmp_path / 'cas.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), ckpt)
    out = run_tool(['tools/analysis_tools/casnet_shapes_eval.py', cfg_path, ckpt, '--gt-ann',
                    tiny_shapes + 'annotations/instances_val.json', '--score-thr', '0'])
    res = json.loads(out.stdout[out.stdout.index('{\n'):])
    m = res['models'][0]
    assert m['images'] == TINY_SHAPES['num_val'] and 'coco_panoptic/PQ' in m['metrics']
    topo = m['topology']['score>=0.0']
    assert topo['instances'] > 0 and topo['multi_claimed'] == 0 and topo['with_unclaimed_hole'] == 0
    assert m['speed_ratio_cpu'] == 1.0 and res['ground_truth']['instances'] > 0
    assert 0 <= m['class_agnostic']['segm_mAP'] <= 1 and 'segm_mAP_50' in m['class_agnostic']


@pytest.mark.slow
def test_oracle_attributes_recover_the_ground_truth_instances(tiny_shapes, tmp_path):
    """Ground-truth head outputs through CASNet's post-process on real Shapes images: the stock CocoMetric finds
    nearly all instances (the stride-4 label map limits mask AP at high IoU), with no overlap and no holes."""
    lines = [f'data_root = {tiny_shapes!r}', f'shapes_cfg = {TINY_SHAPES!r}',
             'val_dataloader = dict(batch_size=2, dataset=dict(data_root=data_root, shapes_cfg=shapes_cfg))',
             "val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')"]
    cfg = write_config(str(tmp_path / 'cas.py'), 'configs/casnet/casnet_r18-c32_fpn_1xb4-2e_shapes128-instance.py',
                       '\n'.join(lines))
    out = run_tool(['tools/analysis_tools/casnet_oracle_eval.py', cfg])
    res = json.loads(out.stdout[out.stdout.index('{\n'):])
    assert res['metrics']['coco/segm_mAP_50'] > 0.8, res['metrics']
    assert res['topology']['multi_claimed'] == 0 and res['topology']['with_unclaimed_hole'] == 0


@pytest.mark.slow
def test_oracle_tool_hybrid_with_every_part_equals_the_pure_oracle(tiny_shapes, tmp_path):
    """``--checkpoint`` runs the network and replaces the ``--oracle`` parts by the ground truth: with every part
    replaced the network's outputs only remain on cells no instance owns, which the ground-truth semantics make
    non-things, so the metrics equal the pure oracle's; a subset needs a checkpoint."""
    from mmdet.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import mmext  # noqa: F401
    lines = [f'data_root = {tiny_shapes!r}', f'shapes_cfg = {TINY_SHAPES!r}',
             'val_dataloader = dict(batch_size=2, dataset=dict(data_root=data_root, shapes_cfg=shapes_cfg))',
             "val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')"]
    cfg = write_config(str(tmp_path / 'cas.py'), 'configs/casnet/casnet_r18-c32_fpn_1xb4-2e_shapes128-instance.py',
                       '\n'.join(lines))
    init_default_scope('mmdet')
    model = MODELS.build(Config.fromfile(cfg).model)
    model.init_weights()
    ckpt = str(tmp_path / 'cas.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), ckpt)
    pure = run_tool(['tools/analysis_tools/casnet_oracle_eval.py', cfg])
    hybrid = run_tool(['tools/analysis_tools/casnet_oracle_eval.py', cfg, '--checkpoint', ckpt])
    pure, hybrid = (json.loads(o.stdout[o.stdout.index('{\n'):]) for o in (pure, hybrid))
    assert hybrid['checkpoint'] == ckpt and hybrid['oracle'] == ['attributes', 'class', 'quality', 'semantic']
    assert hybrid['metrics'] == pure['metrics'] and pure['metrics']['coco/segm_mAP_50'] > 0.8
    network = run_tool(['tools/analysis_tools/casnet_oracle_eval.py', cfg, '--checkpoint', ckpt, '--oracle',
                        'class'])
    res = json.loads(network.stdout[network.stdout.index('{\n'):])
    assert res['oracle'] == ['class'] and res['metrics']['coco/segm_mAP_50'] < pure['metrics']['coco/segm_mAP_50']
    refused = subprocess.run([sys.executable, 'tools/analysis_tools/casnet_oracle_eval.py', cfg, '--oracle', 'class'],
                             cwd=REPO, capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2 and 'needs --checkpoint' in refused.stderr
