"""The core is task-agnostic: the mmdet (FPN feature mimicking) and mmseg (dense logit KD) example configs build
and run one loss step with every parameter getting a gradient; validation runs the student only."""
import copy
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope

from tests.conftest import REPO
from tests.test_distill.helpers import params_without_grad

DET_CFG = 'configs/distill/fitnet_fcos-r18-c32_fpn_1xb8-12e_shapes.py'
SEG_CFG = 'configs/distill/kd_fcn-r18-d8_1xb8-2k_shapes-seg.py'


def _model(path, scope, tmp_path):
    cfg = Config.fromfile(osp.join(REPO, path))
    assert cfg.default_scope == scope
    init_default_scope(scope)
    # a teacher checkpoint saved like mmengine's, from the teacher's own config
    teacher = MODELS.build(Config.fromfile(cfg.model.teacher).model)
    ckpt = str(tmp_path / 'teacher.pth')
    torch.save(dict(state_dict=teacher.state_dict()), ckpt)
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.teacher_ckpt = ckpt
    if scope == 'mmseg':  # the Shapes config pads to 256 x 256; 64 x 64 keeps the test fast
        model_cfg.student.data_preprocessor.size = (64, 64)
    return MODELS.build(model_cfg)


def _step(model, data):
    model.train()
    batch = model.data_preprocessor(data, True)
    losses = model(**batch, mode='loss')
    total, _ = model.parse_losses(losses)
    total.backward()
    return losses


def test_mmdet_student_feature_distillation(tmp_path):
    from mmdet.testing import demo_mm_inputs
    model = _model(DET_CFG, 'mmdet', tmp_path)
    assert model.teacher_forward == 'extract_feat'
    data = demo_mm_inputs(batch_size=2, image_shapes=(3, 64, 64), num_items=[2, 1], num_classes=5)
    losses = _step(model, data)
    assert {'student.loss_cls', 'student.loss_bbox', 'distill.loss_fpn0', 'distill.loss_fpn2'} <= set(losses)
    assert all(torch.isfinite(v).all() for v in losses.values())
    assert params_without_grad(model) == []
    model.eval()
    with torch.no_grad():
        preds = model.test_step(demo_mm_inputs(batch_size=1, image_shapes=(3, 64, 64), num_classes=5))
    assert 'bboxes' in preds[0].pred_instances


def test_mmseg_student_logit_distillation(tmp_path):
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    model = _model(SEG_CFG, 'mmseg', tmp_path)
    assert model.teacher_forward == 'tensor'
    samples = []
    for i in range(2):
        s = SegDataSample(metainfo=dict(img_shape=(64, 64), ori_shape=(64, 64), pad_shape=(64, 64)))
        s.gt_sem_seg = PixelData(data=torch.randint(0, 8, (1, 64, 64)))
        samples.append(s)
    data = dict(inputs=[torch.randint(0, 256, (3, 64, 64), dtype=torch.uint8) for _ in range(2)],
                data_samples=samples)
    losses = _step(model, data)
    assert {'student.decode.loss_ce', 'distill.loss_logits'} <= set(losses)
    assert all(torch.isfinite(v).all() for v in losses.values())
    assert params_without_grad(model) == []
    assert not model.teacher.decode_head.dropout.training, 'teacher Dropout2d before conv_seg is off'
