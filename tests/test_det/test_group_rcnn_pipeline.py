"""Group R-CNN end to end through the tools on a tiny generated Shapes set: train the teacher (tools/train.py, with
the teacher-AP evaluation on val), write the pseudo boxes of the point-only images as COCO json (tools/test.py),
train the FCOS student on GT + pseudo boxes (tools/train.py) and evaluate it."""
import json
import re

import pytest

from tests.conftest import TINY_SHAPES, run_tool, write_config

TEACHER = 'configs/group_rcnn/group-rcnn_r18-c32_fpn_1xb4-12e_shapes-10p.py'
STUDENT = 'configs/group_rcnn/fcos_r18-c32_fpn_1xb8-400i_shapes-10p-pseudo.py'


def _loaders(root: str, box_ratio: float) -> str:
    lines = [f'data_root = {root!r}', f'shapes_cfg = {TINY_SHAPES!r}']
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        ratio = f', box_ratio={box_ratio}' if loader != 'val_dataloader' else ''
        lines.append(f'{loader} = dict(batch_size=2, num_workers=0, persistent_workers=False, '
                     f'dataset=dict(data_root=data_root, shapes_cfg=shapes_cfg{ratio}))')
    lines.append("val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')")
    return '\n'.join(lines)


# narrower networks than the Shapes configs, so that the three runs stay short on a CPU
TINY_TEACHER = ('model = dict(rpn_nms_topk=8, backbone=dict(base_channels=8), '
                'neck=dict(in_channels=[16, 32, 64], out_channels=32), '
                'rpn_head=dict(in_channels=32, feat_channels=32, stacked_convs=1), '
                'roi_head=dict(norm_groups=8, bbox_roi_extractor=dict(out_channels=32), '
                'bbox_head=dict(in_channels=32, fc_out_channels=32)))')
TINY_STUDENT = ('model = dict(backbone=dict(base_channels=8), neck=dict(in_channels=[16, 32, 64], out_channels=32), '
                'bbox_head=dict(in_channels=32, feat_channels=32, stacked_convs=1, '
                'norm_cfg=dict(type="GN", num_groups=8, requires_grad=True)), test_cfg=dict(score_thr=0.0))')


@pytest.mark.slow
def test_teacher_pseudo_json_student_through_the_tools(tiny_shapes, tmp_path):
    prefix = str(tmp_path / 'pseudo')
    teacher_body = _loaders(tiny_shapes, 0.5) + '\n' + TINY_TEACHER + (
        f"\ntest_evaluator = dict(ann_file=data_root + 'annotations/instances_train.json', outfile_prefix={prefix!r})"
        '\ntrain_cfg = dict(max_epochs=1, val_interval=1)\ndefault_hooks = dict(logger=dict(interval=1))')
    teacher = write_config(str(tmp_path / 'teacher.py'), TEACHER, teacher_body)
    out = run_tool(['tools/train.py', teacher, '--work-dir', str(tmp_path / 't')])
    log = out.stdout + out.stderr
    assert re.search(r'coco/bbox_mAP: [0-9.]+', log), log[-3000:]
    losses = [float(x) for x in re.findall(r' loss: ([0-9.]+|nan)', log)]
    assert losses and all(x == x for x in losses)

    out = run_tool(['tools/test.py', teacher, str(tmp_path / 't' / 'epoch_1.pth'), '--work-dir', str(tmp_path / 'p')])
    log = out.stdout + out.stderr
    assert re.search(r'coco/bbox_mAP: [0-9.]+', log), log[-3000:]  # pseudo-box AP on the point-only images
    with open(prefix + '.bbox.json') as f:
        pseudo = json.load(f)
    with open(tiny_shapes + 'annotations/instances_train.json') as f:
        gt = json.load(f)
    # exactly one box per annotated point, only for point-only images (the teacher's split)
    from mmdet.registry import DATASETS
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')
    point_split = DATASETS.build(dict(type='ShapesPointDataset', data_root=tiny_shapes, shapes_cfg=TINY_SHAPES,
                                      ann_file='annotations/instances_train.json', box_ratio=0.5, split='point',
                                      data_prefix=dict(img='images/train/'), test_mode=True, pipeline=[],
                                      filter_cfg=dict(filter_empty_gt=True, min_size=4)))
    point_ids = {point_split.get_data_info(i)['img_id'] for i in range(len(point_split))}
    assert {p['image_id'] for p in pseudo} == point_ids
    num_points = sum(1 for a in gt['annotations'] if a['image_id'] in point_ids)
    assert len(pseudo) == num_points
    assert all(len(p['bbox']) == 4 and p['bbox'][2] >= 0 and p['bbox'][3] >= 0 for p in pseudo)

    student_body = _loaders(tiny_shapes, 0.5) + '\n' + TINY_STUDENT + (
        f'\ntrain_dataloader = dict(dataset=dict(pseudo_ann_file={prefix + ".bbox.json"!r}))'
        '\ntest_evaluator = val_evaluator\ntrain_cfg = dict(max_iters=3, val_interval=3)'
        '\ndefault_hooks = dict(logger=dict(interval=1))')
    student = write_config(str(tmp_path / 'student.py'), STUDENT, student_body)
    out = run_tool(['tools/train.py', student, '--work-dir', str(tmp_path / 's')])
    log = out.stdout + out.stderr
    assert re.search(r'coco/bbox_mAP: [0-9.]+', log), log[-3000:]
    losses = [float(x) for x in re.findall(r' loss: ([0-9.]+|nan)', log)]
    assert losses and all(x == x for x in losses)
