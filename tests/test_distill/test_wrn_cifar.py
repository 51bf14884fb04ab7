"""The CIFAR-100 WRN part of DKS, DCM and NORM: the WRN auxiliary branches of the released code, every CIFAR
config (data pipeline, recipe, a train step on a random 2x3x32x32 batch), gradients, the frozen teacher, and the
export of each student into its own config."""
import copy
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.registry import MODELS, init_default_scope

from tests.conftest import REPO
from tests.test_distill.helpers import cls_batch, loss_and_backward, params_without_grad, save_teacher

DKS_BASE = 'configs/dks/wrn28-10_1xb128-200e_cifar100.py'
DKS = 'configs/dks/dks_wrn28-10_1xb128-200e_cifar100.py'
DCM = 'configs/dcm/dcm_wrn28-10-wrn28-10_1xb128-200e_cifar100.py'
NORM_TEACHER = 'configs/norm/wrn40-2_1xb64-240e_cifar100.py'
NORM_PAIRS = {  # distiller config -> (student's own config, exported student's parameters with 100 classes)
    'configs/norm/norm_wrn40-2-wrn16-2_1xb64-240e_cifar100.py': ('configs/norm/wrn16-2_1xb64-240e_cifar100.py',
                                                                 703_284),
    'configs/norm/norm_wrn40-2-wrn40-1_1xb64-240e_cifar100.py': ('configs/norm/wrn40-1_1xb64-240e_cifar100.py',
                                                                 569_780),
}
# recipe per config: (batch size, lr, weight decay, milestones, gamma, epochs)
DKS_RECIPE = (128, 0.1, 5e-4, [60, 120, 160], 0.2, 200)
NORM_RECIPE = (64, 0.05, 5e-4, [150, 180, 210], 0.1, 240)
RECIPES = {DKS_BASE: DKS_RECIPE, DKS: DKS_RECIPE, DCM: DKS_RECIPE, NORM_TEACHER: NORM_RECIPE,
           **{k: NORM_RECIPE for k in NORM_PAIRS}, **{v[0]: NORM_RECIPE for v in NORM_PAIRS.values()}}


def _cfg(path: str) -> Config:
    return Config.fromfile(osp.join(REPO, path))


def _build(model_cfg: dict, data_preprocessor: dict = None):
    init_default_scope('mmpretrain')
    model_cfg = copy.deepcopy(model_cfg)
    if data_preprocessor is not None:
        model_cfg.setdefault('data_preprocessor', data_preprocessor)  # what the Runner does
    return MODELS.build(model_cfg)


def wrn_aux_heads(depth: int, k: int, num_classes: int) -> list:
    """The released DKS/DCM WRN branches (distill.md §1.2), n = (d - 4) / 6: ep1 after group0 = a copy of group1
    (32k, n blocks, stride 2) + group2 with n // 2 blocks (64k, stride 2); ep2 after group1 = group2 at double
    width (128k, n blocks, stride 2); each ends with BN-ReLU, average pooling and FC."""
    n = (depth - 4) // 6
    head = dict(type='ResNetAuxClassifier', preact=True, num_classes=num_classes)
    return [dict(source='backbone.layer1', head=dict(head, in_channels=16 * k, stages=[(32 * k, n, 2),
                                                                                    (64 * k, n // 2, 2)])),
            dict(source='backbone.layer2', head=dict(head, in_channels=32 * k, stages=[(128 * k, n, 2)]))]


def _listify(heads):
    """Config lists come back as tuples/lists: compare structurally."""
    return [dict(source=h['source'], head=dict(h['head'], stages=[tuple(s) for s in h['head']['stages']]))
            for h in heads]


def _wrn_classifier(depth: int, k: int, num_classes: int = 100) -> dict:
    return dict(type='ImageClassifier', backbone=dict(type='CifarWideResNet', depth=depth, widen_factor=k),
                neck=dict(type='GlobalAveragePooling'),
                head=dict(type='LinearClsHead', num_classes=num_classes, in_channels=64 * k, topk=(1, 5)))


def _num_params(model) -> int:
    return sum(p.numel() for p in model.parameters())


# ---------------------------------------------------------------------------------------------------- branches
def test_wrn_aux_branch_structure_and_parameter_count():
    from mmext.distill import ResNetAuxClassifier
    head = ResNetAuxClassifier(16, [(32, 2, 2), (64, 1, 2)], num_classes=10, preact=True)
    assert [len(stage) for stage in head.layers[:2]] == [2, 1]
    assert isinstance(head.layers[-2], torch.nn.BatchNorm2d) and isinstance(head.layers[-1], torch.nn.ReLU)
    assert head(torch.randn(2, 16, 32, 32)).shape == (2, 10)
    # one pre-activation block 16 -> 32, stride 2: BN(16), 3x3, BN(32), 3x3, 1x1 projection; final BN(32); fc
    one = ResNetAuxClassifier(16, [(32, 1, 2)], num_classes=10, preact=True)
    expect = 2 * 16 + 16 * 32 * 9 + 2 * 32 + 32 * 32 * 9 + 16 * 32 + 2 * 32 + 32 * 10 + 10
    assert _num_params(one) == expect
    dropped = ResNetAuxClassifier(16, [(32, 1, 2)], num_classes=10, preact=True, drop_rate=0.3)
    assert dropped.layers[0][0].drop.p == 0.3
    with pytest.raises(ValueError, match='bottleneck'):
        ResNetAuxClassifier(16, [(32, 1, 2)], num_classes=10, preact=True, bottleneck=True)
    with pytest.raises(ValueError, match='needs preact=True'):
        ResNetAuxClassifier(16, [(32, 1, 2)], num_classes=10, drop_rate=0.3)


def test_configs_use_the_released_wrn_branches():
    expect = wrn_aux_heads(28, 10, 100)
    assert _listify(_cfg(DKS).model.aux_heads) == expect
    dcm = _cfg(DCM).model
    assert _listify(dcm.student_aux_heads) == _listify(dcm.peer_aux_heads) == expect
    base = _cfg(DKS_BASE).model
    assert dcm.student == dcm.peer == base and _cfg(DKS).model.student == base
    assert base.backbone.depth == 28 and base.backbone.widen_factor == 10


def test_dropout_run_options_reach_backbone_and_both_branches():
    """The README's --cfg-options for the paper's dropout run (the released code drops in the branches too)."""
    cfg = _cfg(DKS)
    cfg.merge_from_dict({'model.student.backbone.drop_rate': 0.3, 'model.aux_heads.0.head.drop_rate': 0.3,
                         'model.aux_heads.1.head.drop_rate': 0.3})
    with torch.device('meta'):
        model = _build(cfg.model)
    drops = [m for m in model.modules() if isinstance(m, torch.nn.Dropout)]
    assert len(drops) == 3 * 4 + (4 + 2) + 4 and all(d.p == 0.3 for d in drops)  # 12 + ep1 6 + ep2 4 blocks


def test_full_size_parameter_counts():
    """WRN-28-10 with 100 classes: 36,536,884 (36.5M in the WRN paper); DKS adds its two branches."""
    with torch.device('meta'):
        base = _build(_cfg(DKS_BASE).model)
        dks = _build(_cfg(DKS).model)
        dcm = _build(_cfg(DCM).model)
    assert _num_params(base) == 36_536_884
    branches = _num_params(dks.aux)
    assert _num_params(dks) == 36_536_884 + branches
    assert _num_params(dcm) == 2 * _num_params(dks)


# ---------------------------------------------------------------------------------------------------- configs
ALL_CONFIGS = sorted(RECIPES)


@pytest.mark.parametrize('path', ALL_CONFIGS, ids=lambda p: osp.basename(p))
def test_config_data_and_recipe(path):
    cfg = _cfg(path)
    assert cfg.default_scope == 'mmpretrain' and cfg.custom_imports['imports'] == ['mmext']
    batch, lr, wd, milestones, gamma, epochs = RECIPES[path]
    train = cfg.train_dataloader
    assert train.batch_size == batch and train.dataset.type == 'CIFAR100' and train.dataset.split == 'train'
    assert cfg.val_dataloader.dataset.type == cfg.test_dataloader.dataset.type == 'CIFAR100'
    assert cfg.val_dataloader.dataset.split == cfg.test_dataloader.dataset.split == 'test'
    crop, flip = train.dataset.pipeline[:2]
    assert (crop.type, crop.crop_size, crop.padding, crop.padding_mode) == ('RandomCrop', 32, 4, 'reflect')
    assert (flip.type, flip.prob, flip.direction) == ('RandomFlip', 0.5, 'horizontal')
    assert cfg.data_preprocessor.num_classes == 100
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.momentum, opt.weight_decay) == ('SGD', lr, 0.9, wd)
    sched = cfg.param_scheduler
    assert (sched.type, list(sched.milestones), sched.gamma) == ('MultiStepLR', milestones, gamma)
    assert cfg.train_cfg.max_epochs == epochs
    # the dataset part builds (lazily: CIFAR-100 is not on this machine) and its pipeline runs
    init_default_scope('mmpretrain')
    from mmpretrain.registry import DATASETS
    dataset = DATASETS.build(dict(copy.deepcopy(train.dataset), lazy_init=True))
    assert type(dataset).__name__ == 'CIFAR100'
    img = np.random.RandomState(0).randint(0, 256, (32, 32, 3), dtype=np.uint8)
    packed = Compose(copy.deepcopy(train.dataset.pipeline))(dict(img=img, gt_label=7))
    assert packed['inputs'].shape == (3, 32, 32) and int(packed['data_samples'].gt_label) == 7


def test_norm_configs_schedule_and_weights():
    from mmext.engine import DistillLossWeightHook
    for path in NORM_PAIRS:
        cfg = _cfg(path)
        (hook_cfg, ) = cfg.custom_hooks
        hook = DistillLossWeightHook(**{k: v for k, v in hook_cfg.items() if k != 'type'})
        # the official CIFAR beta_1: 0.1 (< 10), 0.5 (< 20), 1 (< 180), 0.5 (< 210), 0.1 (< 240)
        for epoch, value in ((0, 0.1), (9, 0.1), (10, 0.5), (19, 0.5), (20, 1.0), (179, 1.0), (180, 0.5),
                             (209, 0.5), (210, 0.1), (239, 0.1)):
            assert hook.value_at(epoch * 782, 782) == value, epoch
        m = cfg.model
        assert (m.num_segments, m.teacher_channels, m.norm_loss.loss_weight) == (8, 128, 1.0)
        assert m.student.head.loss.loss_weight == 0.1, 'CE weight r'
        assert m.get('kd_loss') is None and m.logit_standardization is None
        assert m.in_channels == m.student.head.in_channels
        assert Config.fromfile(m.teacher).model == _cfg(NORM_TEACHER).model


@pytest.mark.parametrize('path', [DKS_BASE, DKS, NORM_TEACHER, *NORM_PAIRS,
                                  *(v[0] for v in NORM_PAIRS.values())], ids=lambda p: osp.basename(p))
def test_config_model_train_step(path):
    """Each config's model, at full size, builds and takes a train step on a random 2x3x32x32 batch (DCM, which
    is two DKS networks, is stepped at k = 1 in test_dcm_wrn_flow_and_export_of_either_network)."""
    cfg = _cfg(path)
    model_cfg = copy.deepcopy(cfg.model)
    if model_cfg.type == 'NORMDistiller':
        model_cfg.update(teacher_ckpt=None, allow_random_teacher=True)
    model = _build(model_cfg, cfg.data_preprocessor)
    losses, total = loss_and_backward(model, cls_batch(size=32, num_classes=100))
    assert torch.isfinite(total) and all(torch.isfinite(v) for v in losses.values())
    assert params_without_grad(model) == []
    model.eval()
    with torch.no_grad():
        out = model(model.data_preprocessor(cls_batch(size=32, num_classes=100), False)['inputs'], mode='tensor')
    assert out.shape == (2, 100)


# ---------------------------------------------------------------------------------------------------- flows
def _scaled_wrn28(cfg: Config, k: int = 1) -> dict:
    """The WRN-28-10 config's model at widen factor k (same depth, branches by the same formula)."""
    model = copy.deepcopy(cfg.model)
    for key in ('student', 'peer'):
        if key in model:
            model[key] = _wrn_classifier(28, k)
    for key in ('aux_heads', 'student_aux_heads', 'peer_aux_heads'):
        if key in model:
            model[key] = wrn_aux_heads(28, k, 100)
    return model


def test_dks_wrn_flow_and_export():
    cfg = _cfg(DKS)
    model = _build(_scaled_wrn28(cfg), cfg.data_preprocessor)
    losses, _ = loss_and_backward(model, cls_batch(size=32, num_classes=100))
    assert set(losses) == {'student.loss', 'aux.0.loss_ce', 'aux.1.loss_ce', 'distill.loss_synergy'}
    assert params_without_grad(model) == []
    model.zero_grad()
    loss_and_backward(model, cls_batch(batch=1, size=32, num_classes=100, seed=1))
    exported = model.export_state_dict()
    assert not [k for k in exported if k.startswith(('aux', 'student.'))]
    plain = _build(_wrn_classifier(28, 1), cfg.data_preprocessor)
    plain.load_state_dict(exported, strict=True)
    model.eval()
    plain.eval()
    inputs = model.data_preprocessor(cls_batch(size=32, num_classes=100), False)['inputs']
    with torch.no_grad():
        assert torch.equal(model(inputs, mode='tensor'), plain(inputs, mode='tensor'))


def test_dcm_wrn_flow_and_export_of_either_network():
    cfg = _cfg(DCM)
    model = _build(_scaled_wrn28(cfg), cfg.data_preprocessor)
    assert int(model.cross_mask.sum()) == 18, 'the paper: 3 + 3 heads, 18 cross-network KL terms'
    losses, _ = loss_and_backward(model, cls_batch(size=32, num_classes=100))
    assert set(losses) == {'student.loss', 'peer.loss', 'aux.student.0.loss_ce', 'aux.student.1.loss_ce',
                           'aux.peer.0.loss_ce', 'aux.peer.1.loss_ce', 'distill.loss_dcm'}
    assert params_without_grad(model) == []
    for network in ('student', 'peer'):
        plain = _build(_wrn_classifier(28, 1))
        plain.load_state_dict(model.export_state_dict(network), strict=True)


@pytest.mark.parametrize('path', sorted(NORM_PAIRS), ids=lambda p: osp.basename(p))
def test_norm_wrn_teacher_frozen_and_folded_export_loads_into_student_config(path, tmp_path):
    cfg = _cfg(path)
    own_cfg, params = NORM_PAIRS[path]
    teacher_model = _cfg(NORM_TEACHER).model
    ckpt = save_teacher(str(tmp_path / 'wrn40-2.pth'), teacher_model.to_dict())
    model = _build(dict(copy.deepcopy(cfg.model), teacher_ckpt=ckpt), cfg.data_preprocessor)
    # the teacher: loaded from the checkpoint, frozen, eval, outside parameters() and state_dict()
    reference = torch.load(ckpt, map_location='cpu', weights_only=True)['state_dict']
    assert all(torch.equal(v, reference[k]) for k, v in model.teacher.state_dict().items())
    model.train()
    assert not model.teacher.training and not any(m.training for m in model.teacher.modules())
    assert not any(p.requires_grad for p in model.teacher.parameters())
    teacher_ids = {id(p) for p in model.teacher.parameters()}
    assert not teacher_ids & {id(p) for p in model.parameters()}
    assert not [k for k in model.state_dict() if 'teacher' in k]
    for seed in range(2):
        model.zero_grad()
        losses, _ = loss_and_backward(model, cls_batch(size=32, num_classes=100, seed=seed))
        assert set(losses) == {'student.loss', 'distill.loss_norm'}
        assert params_without_grad(model) == []
        assert all(p.grad is None for p in model.teacher.parameters())
    # export: the FT folded into head.fc, loadable by the student's own config, same logits
    model.eval()
    exported = model.export_state_dict()
    own = _cfg(own_cfg)
    plain = _build(own.model, own.data_preprocessor)
    plain.load_state_dict(exported, strict=True)
    plain.eval()
    assert _num_params(plain) == params
    inputs = model.data_preprocessor(cls_batch(size=32, num_classes=100, seed=7), False)['inputs']
    with torch.no_grad():
        before, after = model(inputs, mode='tensor'), plain(inputs, mode='tensor')
    assert torch.allclose(before, after, rtol=1e-4, atol=1e-4), (before - after).abs().max()
