"""ESSCNet: forward modes, gradients, batch 1, empty scenes, SGC vs plain FLOPs, configs, and a short real
training run through tools/train.py on generated Shapes-3D scenes."""
import glob
import re

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

from tests.conftest import REPO, run_tool, write_config

TINY = dict(num_train=4, num_val=2, shape=(32, 16, 32), seed=4, max_objects=4, splits=['train', 'val'])
TINY_MODEL = dict(type='ESSCNet', stem_channels=4, channels=8, num_levels=3, blocks_per_level=1)


@pytest.fixture(scope='module')
def tiny_ssc(tmp_path_factory):
    from mmengine.registry import init_default_scope
    from mmseg.registry import DATASETS

    import mmext  # noqa: F401
    init_default_scope('mmseg')
    root = str(tmp_path_factory.mktemp('shapes3d')) + '/'
    ds = DATASETS.build(dict(type='Shapes3DSSCDataset', data_root=root, shapes3d_cfg=TINY,
                             data_prefix=dict(scenes='scenes/train')))
    return root, ds


def _build(**kw):
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    torch.manual_seed(0)
    return MODELS.build(dict(TINY_MODEL, **kw))


def test_all_forward_modes_and_gradients(tiny_ssc):
    _, ds = tiny_ssc
    model = _build()
    batch = pseudo_collate([ds[0], ds[1]])
    data = model.data_preprocessor(batch, True)
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_ssc', 'loss_ssc_low'} and all(torch.isfinite(v) for v in losses.values())
    sum(losses.values()).backward()
    no_grad = [n for n, p in model.named_parameters() if p.grad is None]
    assert not no_grad, f'parameters without gradient: {no_grad}'
    model.eval()
    with torch.no_grad():
        dense, dense_low = model(**model.data_preprocessor(batch, False), mode='tensor')
        assert dense.shape == (2, 12, 8, 4, 8) and dense_low.shape == (2, 12, 4, 2, 4)
        assert torch.isfinite(dense).all()
        out = model(**model.data_preprocessor(batch, False), mode='predict')
    assert out[0].pred_label.shape == (8, 4, 8) and out[0].pred_label_low.shape == (4, 2, 4)
    with pytest.raises(ValueError, match="mode='bad'"):
        model(**model.data_preprocessor(batch, False), mode='bad')


def test_batch_one_and_empty_scene(tiny_ssc):
    _, ds = tiny_ssc
    model = _build()
    item = ds[0]
    losses = model(**model.data_preprocessor(pseudo_collate([item]), True), mode='loss')
    assert all(torch.isfinite(v) for v in losses.values())
    empty = dict(inputs=torch.zeros_like(item['inputs']), data_samples=item['data_samples'])
    data = model.data_preprocessor(pseudo_collate([empty, ds[1]]), True)
    assert data['inputs'].indices[:, 0].min() == 1, 'the empty scene contributes no site'
    losses = model(**data, mode='loss')
    assert all(torch.isfinite(v) for v in losses.values())
    model.eval()
    with torch.no_grad():
        out = model(**model.data_preprocessor(pseudo_collate([empty]), False), mode='predict')
    assert (out[0].pred_label == 0).all(), 'nothing observed, nothing completed'


def test_sgc_reduces_conv_flops(tiny_ssc):
    from mmext.ops.sparse import SpConvBase
    _, ds = tiny_ssc
    flops = {}
    for g in (1, 4):
        model = _build(sgc_groups=g).eval()
        with torch.no_grad():
            model(**model.data_preprocessor(pseudo_collate([ds[0]]), False), mode='tensor')
        flops[g] = {n: m.last_flops for n, m in model.named_modules() if isinstance(m, SpConvBase)}
    sgc_layers = [n for n in flops[1] if n.startswith(('stage1', 'stage2.conv', 'enc.0', 'enc.1', 'dec.1'))]
    assert sgc_layers
    for n in sgc_layers:
        assert flops[4][n] < 0.5 * flops[1][n], n
    assert flops[4]['enc.2.0.conv1'] == flops[1]['enc.2.0.conv1'], 'the deepest level stays plain'


def test_bad_arguments():
    with pytest.raises(ValueError, match='up_types'):
        _build(up_types=['v', 'x'])
    with pytest.raises(KeyError, match='sgc_levels'):
        _build(sgc_levels=dict(head=True))
    with pytest.raises(ValueError, match='num_levels'):
        _build(num_levels=1)


@pytest.mark.parametrize('path', sorted(glob.glob(f'{REPO}/configs/esscnet/*.py')))
def test_configs_parse_and_build(path):
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'mmseg' and cfg.custom_imports.imports == ['mmext']
    model = _build(**{k: v for k, v in cfg.model.items() if k != 'type'})
    n = sum(p.numel() for p in model.parameters())
    assert n > 1e6
    if 'suncg' in path:
        assert cfg.model.num_levels == 6 and cfg.train_dataloader.batch_size == 4
        assert cfg.optim_wrapper.optimizer.nesterov and cfg.param_scheduler[0].step_size == 10000


@pytest.mark.slow
def test_esscnet_shapes3d_train_run(tmp_path):
    root = str(tmp_path / 'data') + '/'
    body = (f'data_root = {root!r}\nshapes3d_cfg = {TINY!r}\n'
            + '\n'.join(f'{k} = dict(batch_size=2, num_workers=0, persistent_workers=False, '
                        f'dataset=dict(data_root=data_root, shapes3d_cfg=shapes3d_cfg))'
                        for k in ('train_dataloader', 'val_dataloader', 'test_dataloader'))
            + '\nmodel = dict(stem_channels=4, channels=8, num_levels=3, blocks_per_level=1)'
            + '\ntrain_cfg = dict(max_iters=6, val_interval=6)\niters_per_epoch = 3'
            + '\nparam_scheduler = [dict(type="StepLR", step_size=3, gamma=0.6065, by_epoch=False)]'
            + '\ndefault_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=6))')
    cfg = write_config(str(tmp_path / 'essc.py'), 'configs/esscnet/esscnet_sgc4_1xb2-2k_shapes3d.py', body)
    out = run_tool(['tools/train.py', cfg, '--work-dir', str(tmp_path / 'w')])
    log = out.stdout + out.stderr
    assert re.search(r'ssc/sc_iou: [0-9.]+', log) and re.search(r'ssc/ssc_miou: [0-9.]+', log), log[-3000:]
    losses = [float(x) for x in re.findall(r' loss: ([0-9.]+|nan)', log)]
    assert len(losses) == 6 and all(x == x for x in losses)
    assert glob.glob(str(tmp_path / 'w' / 'iter_6.pth'))
