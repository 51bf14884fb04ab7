"""AfDCDDistiller on tiny mmseg DeepLabV3 models: loss terms, gradients, teacher hygiene, the loss-module-only
gradient clipping, ablation switches, student-only inference and export."""
import copy

import pytest
import torch
from mmengine.optim import build_optim_wrapper
from mmengine.registry import MODELS, init_default_scope

from tests.test_distill.afdcd_scalekd_helpers import save_model, seg_batch, tiny_segmentor
from tests.test_distill.helpers import loss_and_backward, params_without_grad


@pytest.fixture
def afdcd_cfg(tmp_path):
    teacher = tiny_segmentor(width=16, aux=False)
    ckpt = save_model(str(tmp_path / 't.pth'), teacher, 'mmseg')
    # 64x64 inputs give 8x8 c4 maps: no pooling, 4x4 patches, 16 groups of 8 of the teacher's 128 channels
    return dict(type='AfDCDDistiller', student=tiny_segmentor(width=8), teacher=teacher, teacher_ckpt=ckpt,
                student_channels=64, teacher_channels=128,
                contrastive_loss=dict(type='OmniContrastiveLoss', num_groups=16, patch_size=(4, 4), pool_size=0,
                                      loss_weight=0.005))


def _build(cfg):
    init_default_scope('mmseg')
    return MODELS.build(copy.deepcopy(cfg))


def test_afdcd_losses_gradients_and_batch_of_one(afdcd_cfg):
    model = _build(afdcd_cfg)
    losses, _ = loss_and_backward(model, seg_batch())
    assert {'distill.loss_fd', 'distill.loss_ctr', 'distill.loss_kd', 'student.decode.loss_ce',
            'student.aux.loss_ce'} <= set(losses)
    assert all(torch.isfinite(v) for v in losses.values())
    assert params_without_grad(model) == []
    assert all(p.grad is None and not p.requires_grad for p in model.teacher.parameters())
    assert isinstance(model.projector.align, torch.nn.Conv2d)
    # batch 1: an FCN student (DeepLabV3's image-pooling BN cannot train on one 1x1 sample, distilled or not)
    model = _build(dict(afdcd_cfg, student=tiny_segmentor(width=8, head='FCNHead')))
    losses, _ = loss_and_backward(model, seg_batch(batch=1, seed=2))
    assert all(torch.isfinite(v) for v in losses.values()) and 'distill.loss_ctr' in losses


def test_afdcd_terms_match_their_losses_on_the_recorded_features(afdcd_cfg):
    model = _build(afdcd_cfg)
    model.train()
    batch = model.data_preprocessor(seg_batch(), True)
    seen = {}
    orig = model.compute_losses

    def spy(inputs, samples):
        seen['s'] = model.student_recorders['c4'].detach().clone()
        seen['t'] = model.teacher_recorders['c4'].clone()
        seen['sl'] = model.student_recorders['logits'].detach().clone()
        seen['tl'] = model.teacher_recorders['logits'].clone()
        seen['rng'] = torch.get_rng_state()
        return orig(inputs, samples)

    model.compute_losses = spy
    losses = model(**batch, mode='loss')
    torch.set_rng_state(seen['rng'])
    new_fea = model.projector(seen['s'])  # the same random mask
    assert torch.allclose(losses['distill.loss_fd'], 2e-6 * ((new_fea - seen['t'])**2).sum() / 2, rtol=1e-4)
    assert torch.allclose(losses['distill.loss_ctr'], model.contrastive_loss(new_fea, seen['t']), rtol=1e-4)
    log_ps, pt = seen['sl'].log_softmax(1), seen['tl'].softmax(1)
    kd = (pt * (pt.log() - log_ps)).sum(1).mean()  # KL per pixel, averaged over B*H*W (batchmean of the release)
    assert seen['sl'].shape[-2:] == (8, 8), 'KD on the 1/8-resolution logits'
    assert torch.allclose(losses['distill.loss_kd'], kd, rtol=1e-4)


def test_afdcd_teacher_hygiene(afdcd_cfg):
    model = _build(afdcd_cfg)
    model.train()
    assert not model.teacher.training and all(not m.training for m in model.teacher.modules())
    assert not [k for k in model.state_dict() if 'teacher' in k]
    teacher_ids = {id(p) for p in model.teacher.parameters()}
    assert not teacher_ids & {id(p) for p in model.parameters()}
    optim = build_optim_wrapper(model, dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9)))
    model.train_step(seg_batch(), optim)
    in_optim = {id(p) for g in optim.optimizer.param_groups for p in g['params']}
    assert not teacher_ids & in_optim
    assert not teacher_ids & {id(p) for p in optim.optimizer.state}
    assert {k.split('.')[0] for k in model.state_dict()} == {'student', 'projector', 'distill_loss_scale'}


def test_afdcd_clips_the_loss_module_gradients_only(afdcd_cfg):
    cfg = dict(afdcd_cfg, fd_loss=dict(type='DistillMSELoss', reduction='batch_sum', loss_weight=10.0))
    model = _build(cfg)
    assert model.module_grad_clip == dict(modules=['projector'], max_norm=15, norm_type=2)
    optim = build_optim_wrapper(model, dict(optimizer=dict(type='SGD', lr=0.0)))
    norms = {}

    def capture(opt, args, kwargs):  # registered after the distiller's clip, so it runs after it
        def norm(ps):
            return torch.norm(torch.stack([p.grad.norm() for p in ps if p.grad is not None])).item()
        norms['projector'] = norm(list(model.projector.parameters()))
        norms['student'] = norm(list(model.student.parameters()))

    model.train_step(seg_batch(), optim)  # registers the clip hook
    optim.optimizer.register_step_pre_hook(capture)
    model.train_step(seg_batch(seed=1), optim)
    assert norms['projector'] == pytest.approx(15.0, rel=1e-3), 'clipped at max_norm 15'
    assert norms['student'] > 15.0, 'the student is not clipped'
    with pytest.raises(KeyError, match='module_grad_clip.modules'):
        _build(dict(afdcd_cfg, module_grad_clip=dict(modules=['student'], max_norm=1)))._grad_clip_parameters()


def test_afdcd_clipping_under_ddp_needs_and_uses_the_hook(afdcd_cfg):
    """MMDistributedDataParallel runs its own train_step: without ModuleGradClipHook the distiller refuses to train
    (it would go unclipped); with it the loss module is clipped at 15 and the student is not (gloo, one process)."""
    import socket
    from types import SimpleNamespace

    import torch.distributed as dist
    from mmengine.logging import MMLogger
    from mmengine.model import MMDistributedDataParallel

    from mmext.engine import ModuleGradClipHook
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=0, world_size=1)
    try:
        cfg = dict(afdcd_cfg, fd_loss=dict(type='DistillMSELoss', reduction='batch_sum', loss_weight=10.0))
        bare = MMDistributedDataParallel(module=_build(cfg))
        with pytest.raises(RuntimeError, match=r"custom_hooks=\[dict\(type='ModuleGradClipHook'\)\]"):
            bare.train_step(seg_batch(), build_optim_wrapper(bare.module, dict(optimizer=dict(type='SGD', lr=0.0))))
        model = _build(cfg)
        wrapped = MMDistributedDataParallel(module=model)
        optim = build_optim_wrapper(model, dict(optimizer=dict(type='SGD', lr=0.0)))
        runner = SimpleNamespace(model=wrapped, optim_wrapper=optim, logger=MMLogger.get_current_instance())
        ModuleGradClipHook().before_train(runner)
        ModuleGradClipHook().before_train(runner)  # idempotent: still one clipping pre-hook
        assert len(optim.optimizer._optimizer_step_pre_hooks) == 1
        norms = {}

        def capture(opt, args, kwargs):
            norms['projector'] = torch.norm(torch.stack([p.grad.norm() for p in model.projector.parameters()]))
            norms['student'] = torch.norm(torch.stack([p.grad.norm() for p in model.student.parameters()
                                                       if p.grad is not None]))

        optim.optimizer.register_step_pre_hook(capture)
        wrapped.train_step(seg_batch(seed=1), optim)
        assert norms['projector'].item() == pytest.approx(15.0, rel=1e-3), 'clipped at max_norm 15'
        assert norms['student'].item() > 15.0, 'the student is not clipped'
        # a model without module_grad_clip is left alone
        kd_only = _build(dict(afdcd_cfg, fd_loss=None, contrastive_loss=None))
        kd_optim = build_optim_wrapper(kd_only, dict(optimizer=dict(type='SGD', lr=0.0)))
        ModuleGradClipHook().before_train(SimpleNamespace(model=kd_only, optim_wrapper=kd_optim, logger=None))
        assert not kd_optim.optimizer._optimizer_step_pre_hooks
    finally:
        dist.destroy_process_group()


def test_afdcd_ablations_and_errors(afdcd_cfg):
    kd_only = _build(dict(afdcd_cfg, fd_loss=None, contrastive_loss=None))
    assert not hasattr(kd_only, 'projector') and kd_only.module_grad_clip is None
    losses, _ = loss_and_backward(kd_only, seg_batch())
    assert {k for k in losses if k.startswith('distill.')} == {'distill.loss_kd'}
    fd_only = _build(dict(afdcd_cfg, contrastive_loss=None, kd_loss=None))
    losses, _ = loss_and_backward(fd_only, seg_batch())
    assert {k for k in losses if k.startswith('distill.')} == {'distill.loss_fd'}
    with pytest.raises(ValueError, match='all None'):
        _build(dict(afdcd_cfg, fd_loss=None, contrastive_loss=None, kd_loss=None))
    with pytest.raises(ValueError, match='in_channels=32'):
        loss_and_backward(_build(dict(afdcd_cfg, student_channels=32)), seg_batch())


def test_afdcd_predict_tensor_and_export(afdcd_cfg):
    model = _build(afdcd_cfg)
    model.eval()
    batch = model.data_preprocessor(seg_batch(), False)
    with torch.no_grad():
        out = model(**batch, mode='tensor')
        preds = model(**batch, mode='predict')
    assert out.shape == (2, 4, 8, 8) and preds[0].pred_sem_seg.data.shape[-2:] == (64, 64)
    init_default_scope('mmseg')
    plain = MODELS.build(afdcd_cfg['student'])
    plain.load_state_dict(model.export_state_dict(), strict=True)
    plain.eval()
    with torch.no_grad():
        assert torch.allclose(plain(**batch, mode='tensor'), out)
