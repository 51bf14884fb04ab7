"""The distiller core: teacher hygiene, checkpoints, recorders, loss keys, gradients, schedule hook."""
import copy

import pytest
import torch
from mmengine.optim import build_optim_wrapper
from mmengine.registry import MODELS, init_default_scope

from tests.test_distill.helpers import (cls_batch, loss_and_backward, params_without_grad, save_teacher,
                                        tiny_classifier)


@pytest.fixture
def teacher_ckpt(tmp_path):
    return save_teacher(str(tmp_path / 'teacher.pth'), tiny_classifier(depth=34, width=16))


def _kd_cfg(teacher_ckpt, **kw):
    """Logit KD plus a last-stage feature term through a connector (tiny R18 <- R34 at double width)."""
    cfg = dict(
        type='FeatureDistiller', student=tiny_classifier(), teacher=tiny_classifier(depth=34, width=16),
        teacher_ckpt=teacher_ckpt,
        distill_cfgs=[
            dict(name='kd', student=dict(source='head.fc'), teacher=dict(source='head.fc'),
                 loss=dict(type='DistillKLDivLoss', tau=4.0)),
            dict(name='feat', student=dict(source='backbone', index=-1), teacher=dict(source='backbone', index=-1),
                 connector=dict(type='DistillConvConnector', in_channels=64, out_channels=128),
                 loss=dict(type='DistillMSELoss')),
        ])
    cfg.update(kw)
    return cfg


def _build(cfg):
    init_default_scope('mmpretrain')
    return MODELS.build(copy.deepcopy(cfg))


def test_teacher_frozen_eval_and_outside_module_tree(teacher_ckpt):
    model = _build(_kd_cfg(teacher_ckpt))
    teacher = model.teacher
    # loaded from the checkpoint, not re-initialised
    saved = torch.load(teacher_ckpt, weights_only=True)['state_dict']
    assert torch.equal(teacher.state_dict()['backbone.conv1.weight'], saved['backbone.conv1.weight'])
    model.init_weights()
    assert torch.equal(teacher.state_dict()['backbone.conv1.weight'], saved['backbone.conv1.weight'])
    model.train()
    assert model.training and model.student.training
    assert not any(m.training for m in teacher.modules()), 'every teacher module (BN, Dropout, DropPath) in eval'
    assert not any(p.requires_grad for p in teacher.parameters())
    teacher_params = {id(p) for p in teacher.parameters()}
    assert not teacher_params & {id(p) for p in model.parameters()}, 'teacher params not in parameters() (DDP)'
    assert not any(k.startswith('teacher') or '_teacher' in k for k in model.state_dict())
    optim = build_optim_wrapper(model, dict(optimizer=dict(type='SGD', lr=0.1)))
    in_optim = {id(p) for g in optim.optimizer.param_groups for p in g['params']}
    assert not in_optim & teacher_params
    # moved and cast together with the distiller
    model.double()
    assert next(teacher.parameters()).dtype == torch.float64
    # teacher.train() called by someone else is undone before the teacher runs
    model.float()
    teacher.train()
    loss_and_backward(model, cls_batch())
    assert not teacher.training
    assert all(p.grad is None for p in teacher.parameters())


def test_loss_keys_gradients_and_records_cleared(teacher_ckpt):
    model = _build(_kd_cfg(teacher_ckpt))
    assert model.teacher_forward == 'tensor', 'a head.fc record needs the teacher head'
    losses, total = loss_and_backward(model, cls_batch())
    assert set(losses) == {'student.loss', 'distill.loss_kd', 'distill.loss_feat'}
    assert all(torch.isfinite(v).all() for v in losses.values()) and total > 0
    assert params_without_grad(model) == []
    assert all(not r.data for r in model.student_recorders.recorders.values())
    assert all(not r.data for r in model.teacher_recorders.recorders.values())
    # predict/tensor run the student only and record nothing
    model.eval()
    with torch.no_grad():
        batch = model.data_preprocessor(cls_batch(), False)
        preds = model(**batch, mode='predict')
        out = model(batch['inputs'], mode='tensor')
    assert len(preds) == 2 and preds[0].pred_score.shape == (5, ) and out.shape == (2, 5)
    assert all(not r.data for r in model.teacher_recorders.recorders.values())


def test_feature_only_teacher_runs_extract_feat(teacher_ckpt, monkeypatch):
    cfg = _kd_cfg(teacher_ckpt)
    cfg['distill_cfgs'] = cfg['distill_cfgs'][1:]
    model = _build(cfg)
    assert model.teacher_forward == 'extract_feat'
    called = []
    monkeypatch.setattr(model.teacher.head, 'forward', lambda *a, **k: called.append(1))
    loss_and_backward(model, cls_batch())
    assert not called, 'the teacher head does not run when only backbone features are distilled'


def test_batch_of_one_and_distill_scale(teacher_ckpt):
    model = _build(_kd_cfg(teacher_ckpt))
    losses, _ = loss_and_backward(model, cls_batch(batch=1))
    model.zero_grad()
    model.set_distill_loss_scale(0.0)
    scaled, _ = loss_and_backward(model, cls_batch(batch=1))
    assert float(scaled['distill.loss_kd']) == 0.0 and float(losses['distill.loss_kd']) > 0
    assert params_without_grad(model) == [], 'a zero weight still gives every parameter a (zero) gradient'
    assert float(model.state_dict()['distill_loss_scale']) == 0.0


def test_plain_student_checkpoint_loads_into_distiller(teacher_ckpt):
    model = _build(_kd_cfg(teacher_ckpt))
    init_default_scope('mmpretrain')
    plain = MODELS.build(tiny_classifier())
    missing, unexpected = model.load_state_dict(plain.state_dict(), strict=False)
    assert not unexpected and not [k for k in missing if k.startswith('student.')]
    assert torch.equal(model.student.backbone.conv1.weight, plain.backbone.conv1.weight)


def test_recorder_hooks_removed_and_inplace_detected(teacher_ckpt):
    from mmext.distill import FeatureRecorder
    model = _build(_kd_cfg(teacher_ckpt))
    fc = model.student.head.fc
    assert len(fc._forward_hooks) == 1
    model.remove_hooks()
    assert len(fc._forward_hooks) == 0 and len(model.teacher.head.fc._forward_hooks) == 0
    lin = torch.nn.Linear(2, 2)
    net = torch.nn.Sequential(lin)
    rec = FeatureRecorder(net, '0')
    rec.enabled = True
    out = net(torch.ones(1, 2))
    out.add_(1)
    with pytest.raises(RuntimeError, match='modified in place'):
        rec.get()
    rec.remove()


def test_bad_arguments_are_named(teacher_ckpt):
    with pytest.raises(ValueError, match='teacher_ckpt'):
        _build(_kd_cfg(None))
    with pytest.raises(KeyError, match="recorder source 'backbone.nope'"):
        cfg = _kd_cfg(teacher_ckpt)
        cfg['distill_cfgs'][0]['student'] = dict(source='backbone.nope')
        _build(cfg)
    with pytest.raises(ValueError, match='teacher_forward'):
        _build(_kd_cfg(teacher_ckpt, teacher_forward='loss'))
    with pytest.raises(KeyError, match='lacks'):
        cfg = _kd_cfg(teacher_ckpt)
        cfg['teacher'] = tiny_classifier(depth=50, width=16)
        _build(cfg)
    with pytest.raises(ValueError, match='network must name'):
        _build(_kd_cfg(teacher_ckpt)).export_state_dict('connectors_x')


def test_loss_weight_hook_schedule_and_resume(teacher_ckpt):
    from types import SimpleNamespace

    from mmengine.logging import MessageHub

    from mmext.engine import DistillLossWeightHook
    hook = DistillLossWeightHook(milestones=[5, 15, 60, 80], values=[0.1, 0.5, 0.9, 0.5, 0.1])
    assert [hook.value_at(e * 10, 10) for e in (0, 4, 5, 14, 15, 59, 60, 79, 80, 99)] == \
        [0.1, 0.1, 0.5, 0.5, 0.9, 0.9, 0.5, 0.5, 0.1, 0.1]
    model = _build(_kd_cfg(teacher_ckpt))
    runner = SimpleNamespace(model=model, iter=150, train_dataloader=range(10),
                             message_hub=MessageHub.get_instance('distill_hook_test'))
    hook.before_train_iter(runner, 0)
    assert float(model.distill_loss_scale) == pytest.approx(0.9)
    # the value is in the checkpoint and comes back on load
    state = model.state_dict()
    fresh = _build(_kd_cfg(teacher_ckpt))
    assert float(fresh.distill_loss_scale) == 1.0
    fresh.load_state_dict(state)
    assert float(fresh.distill_loss_scale) == pytest.approx(0.9)
    with pytest.raises(ValueError, match='len\\(milestones\\) \\+ 1'):
        DistillLossWeightHook(milestones=[1], values=[1.0])
    with pytest.raises(TypeError, match='distiller'):
        hook.before_train_iter(SimpleNamespace(model=torch.nn.Linear(1, 1), iter=0, train_dataloader=range(1),
                                               message_hub=runner.message_hub), 0)


def test_ema_deepcopy_shares_the_frozen_teacher(teacher_ckpt):
    model = _build(_kd_cfg(teacher_ckpt))
    clone = copy.deepcopy(model)
    assert clone.teacher is model.teacher
    assert clone.student is not model.student
