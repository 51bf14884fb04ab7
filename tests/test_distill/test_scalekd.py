"""ScaleKDDistiller with tiny Swin and ViT teachers and a ResNet student: the six terms, teacher parameter
perception (gradients through the frozen teacher, none into it), the teacher's stochastic depth kept off, the
ViT-to-CNN grid mapping from the config, teacher hygiene and export."""
import copy

import pytest
import torch
from mmengine.optim import build_optim_wrapper
from mmengine.registry import MODELS, init_default_scope

from tests.test_distill.afdcd_scalekd_helpers import save_model, tiny_resnet_student, tiny_swin, tiny_vit
from tests.test_distill.helpers import cls_batch, loss_and_backward, params_without_grad

TERMS = {f'distill.loss_{s}_{v}' for s in ('s3', 's4') for v in ('spat', 'freq')} | {'distill.loss_kd'}


@pytest.fixture
def swin_cfg(tmp_path):
    teacher = tiny_swin()
    ckpt = save_model(str(tmp_path / 'swin.pth'), teacher, 'mmpretrain')
    # student stage 3: 32 @ 4x4, stage 4: 64 @ 2x2; Swin stage 3: 64 @ 4x4, stage 4: 128 @ 2x2
    return dict(type='ScaleKDDistiller', student=tiny_resnet_student(), teacher=teacher, teacher_ckpt=ckpt,
                teacher_stage=dict(type='swin'),
                s3_projector=dict(student_channels=32, teacher_channels=64, student_hw=(4, 4), query_hw=(4, 4),
                                  num_heads=2),
                s4_projector=dict(student_channels=64, teacher_channels=128, student_hw=(2, 2), query_hw=(2, 2),
                                  num_heads=4))


@pytest.fixture
def vit_cfg(tmp_path):
    teacher = tiny_vit()
    ckpt = save_model(str(tmp_path / 'vit.pth'), teacher, 'mmpretrain')
    # ViT tokens 4x4 everywhere: the student's 2x2 stage 4 is mapped onto the 4x4 grid by its CAP's queries
    return dict(type='ScaleKDDistiller', student=tiny_resnet_student(), teacher=teacher, teacher_ckpt=ckpt,
                teacher_stage=dict(type='vit', split=3), teacher_logits='head.layers.head',
                s3_projector=dict(student_channels=32, teacher_channels=16, student_hw=(4, 4), query_hw=(4, 4),
                                  num_heads=2),
                s4_projector=dict(student_channels=64, teacher_channels=16, student_hw=(2, 2), query_hw=(4, 4),
                                  num_heads=2))


def _build(cfg):
    init_default_scope('mmpretrain')
    return MODELS.build(copy.deepcopy(cfg))


@pytest.mark.parametrize('which', ['swin_cfg', 'vit_cfg'])
def test_scalekd_terms_gradients_and_batch_of_one(which, request):
    model = _build(request.getfixturevalue(which))
    losses, _ = loss_and_backward(model, cls_batch())
    assert set(losses) == TERMS | {'student.loss'}
    assert all(torch.isfinite(v) and v > 0 for v in losses.values())
    assert params_without_grad(model) == []
    assert all(p.grad is None and not p.requires_grad for p in model.teacher.parameters())
    model.zero_grad()
    losses, _ = loss_and_backward(model, cls_batch(batch=1, seed=4))
    assert all(torch.isfinite(v) for v in losses.values())


def test_tpp_runs_the_teacher_last_stage_with_gradients_through_it(swin_cfg):
    model = _build(swin_cfg)
    model.train()
    batch = model.data_preprocessor(cls_batch(), True)
    stage, bb = model.teacher_stage, model.teacher.backbone
    tokens = torch.randn(2, 16, 64, requires_grad=True)
    out = stage(tokens, (4, 4))
    x, hw = bb.stages[2].downsample(tokens, (4, 4))  # written out: merge, stage 4, its norm
    x, hw = bb.stages[3](x, hw, do_downsample=False)
    ref = bb.norm3(x).reshape(2, 2, 2, 128).permute(0, 3, 1, 2)
    assert torch.allclose(out, ref) and out.shape == (2, 128, 2, 2)
    out.sum().backward()
    assert tokens.grad is not None and tokens.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.teacher.parameters())
    # the teacher's real stage-4 output is what TPP outputs are compared with
    with model.teacher_recorders.recording():
        model.run_teacher(batch['inputs'], batch['data_samples'])
        real = model.teacher_recorders['s4'].clone()
    model.clear_records()
    with torch.no_grad():
        assert torch.allclose(real, model.teacher.backbone(batch['inputs'])[-1], atol=1e-6)
    # the stage-3 spatial loss alone reaches the student's stage 3 through the teacher blocks
    model.zero_grad()
    losses = model(**batch, mode='loss')
    losses['distill.loss_s3_spat'].backward()
    assert model.student.backbone.layer3[0].conv1.weight.grad.abs().sum() > 0
    assert model.projectors['s3_spat'].q.weight.grad.abs().sum() > 0
    assert model.projectors['s4_spat'].q.weight.grad is None


def test_swin_teacher_stochastic_depth_stays_off(swin_cfg):
    model = _build(swin_cfg)
    teacher = model.teacher
    drop_paths = [m for m in teacher.modules() if type(m).__name__ == 'DropPath']
    assert drop_paths and max(m.drop_prob for m in drop_paths) > 0.2
    x = torch.randn(2, 3, 64, 64)
    # the test can fail: in train mode the teacher's stochastic depth makes two forwards differ
    teacher.train()
    with torch.no_grad():
        assert not torch.allclose(teacher.backbone(x)[-1], teacher.backbone(x)[-1])
    model.train()  # what mmengine does every epoch: the core puts the whole teacher back in eval
    assert not teacher.training and all(not m.training for m in drop_paths)
    feats = []
    for _ in range(2):
        with model.teacher_recorders.recording():
            model.run_teacher(x, None)
            feats.append(model.teacher_recorders['s4'].clone())
        model.clear_records()
    assert torch.allclose(feats[0], feats[1])
    # the TPP pass in the loss is deterministic too (no DropPath)
    tokens = torch.randn(2, 16, 64)
    with torch.no_grad():
        assert torch.allclose(model.teacher_stage(tokens, (4, 4)), model.teacher_stage(tokens, (4, 4)))
    teacher.train()  # someone switches it back: run_teacher restores eval
    model.run_teacher(x, None)
    assert not teacher.training


def test_scalekd_teacher_hygiene_and_export(swin_cfg):
    model = _build(swin_cfg)
    teacher_ids = {id(p) for p in model.teacher.parameters()}
    assert not [k for k in model.state_dict() if 'teacher' in k]
    assert {k.split('.')[0] for k in model.state_dict()} == {'student', 'projectors', 'distill_loss_scale'}
    optim = build_optim_wrapper(model, dict(optimizer=dict(type='AdamW', lr=1e-3)))
    model.train_step(cls_batch(), optim)
    assert not teacher_ids & {id(p) for g in optim.optimizer.param_groups for p in g['params']}
    assert not teacher_ids & {id(p) for p in optim.optimizer.state}
    init_default_scope('mmpretrain')
    plain = MODELS.build(swin_cfg['student'])
    plain.load_state_dict(model.export_state_dict(), strict=True)
    model.eval()
    plain.eval()
    batch = model.data_preprocessor(cls_batch(), False)
    with torch.no_grad():
        assert torch.allclose(plain(batch['inputs'], mode='tensor'), model(batch['inputs'], mode='tensor'))
        assert len(model(**batch, mode='predict')) == 2
    built = _build(dict(swin_cfg, build_teacher=False))
    assert not built.has_teacher and built.teacher_stage is None


def test_scalekd_config_errors(swin_cfg, vit_cfg):
    with pytest.raises(KeyError, match='s3_projector and s4_projector'):
        _build(dict(swin_cfg, s3_projector=None))
    with pytest.raises(TypeError, match="type='swin' needs"):
        _build(dict(vit_cfg, teacher_stage=dict(type='swin')))
    with pytest.raises(ValueError, match='split must be'):
        _build(dict(vit_cfg, teacher_stage=dict(type='vit', split=4)))
    bad = copy.deepcopy(swin_cfg)
    bad['s4_projector']['query_hw'] = (3, 3)
    with pytest.raises(ValueError, match='query_hw'):
        loss_and_backward(_build(bad), cls_batch())
    bad = copy.deepcopy(vit_cfg)
    bad['s3_projector']['query_hw'] = (2, 8)  # 16 tokens, but not the teacher's 4x4 grid for the target
    bad['s4_projector']['query_hw'] = (2, 8)
    with pytest.raises(ValueError, match=r'\(4, 4\) token grid'):
        loss_and_backward(_build(bad), cls_batch())


@pytest.mark.parametrize('which', ['swin_cfg', 'vit_cfg'])
def test_tpp_of_the_teachers_own_stage3_reproduces_its_last_stage(which, request):
    """The TPP path is the teacher's real last stage: fed the teacher's own stage-3 tokens it gives back exactly
    the recorded last-stage feature the student is compared with (a wrong block range, norm, cls-token handling or
    token layout would break this)."""
    model = _build(request.getfixturevalue(which))
    model.train()
    bb, stage = model.teacher.backbone, model.teacher_stage
    x = model.data_preprocessor(cls_batch(), True)['inputs']
    seen = {}
    if which == 'swin_cfg':  # stage 3 before its patch merging
        hook = bb.stages[2].blocks[-1].register_forward_hook(lambda m, i, o: seen.update(s3=o))
    else:  # block split - 1, cls token included
        hook = bb.layers[stage.split - 1].register_forward_hook(lambda m, i, o: seen.update(s3=o))
    with model.teacher_recorders.recording():
        model.run_teacher(x, None)
        target = stage.target_map(model.teacher_recorders['s4'], model.s4_hw).clone()
        extra = model.teacher_recorders['s3_extra'] if stage.needs_extra_tokens else None
    model.clear_records()
    hook.remove()
    tokens = seen['s3'][:, stage.num_extra_tokens:] if which == 'vit_cfg' else seen['s3']
    with torch.no_grad():
        out = stage(tokens, model.s3_hw, extra)
    assert out.shape == target.shape and torch.allclose(out, target, atol=1e-5)
    with torch.no_grad():  # and it depends on the tokens (not, e.g., on the recorded extra tokens only)
        assert not torch.allclose(stage(tokens.flip(1), model.s3_hw, extra), target, atol=1e-3)
