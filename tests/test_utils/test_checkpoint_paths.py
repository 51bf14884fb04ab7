"""Every path from a user-given name to torch.load goes through the allow-list (mmext.utils.checkpoint_paths)."""
import os
import os.path as osp
import re
import site
from urllib.parse import urlparse

import pytest
import torch
from mmengine.runner import CheckpointLoader
from mmengine.runner import checkpoint as mm_ckpt

import mmext  # noqa: F401  (installs the safe loaders)
from mmext.utils import CheckpointSafetyError
from mmext.utils.checkpoint import ALLOWED_GLOBALS_ENV, TRUSTED_ENV, safe_load
from mmext.utils.checkpoint_paths import CALL_SITES
from tests.conftest import REPO


class _Payload:
    """Unpickling this runs ``touch marker``."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


class Opaque:
    """A harmless custom object a user may trust explicitly."""

    def __init__(self, v=1):
        self.v = v


@pytest.fixture
def hub_dir(tmp_path, monkeypatch):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    d = tmp_path / 'torch_home' / 'hub' / 'checkpoints'
    d.mkdir(parents=True)
    return d


def _plant(hub_dir, url: str, obj) -> str:
    path = str(hub_dir / osp.basename(urlparse(url).path))
    torch.save(obj, path)
    return path


def _names():
    return dict(torchvision=('torchvision://resnet18', mm_ckpt.get_torchvision_models()['resnet18']),
                modelzoo=('modelzoo://resnet18', mm_ckpt.get_torchvision_models()['resnet18']),
                openmmlab=('open-mmlab://vgg16_caffe', mm_ckpt.get_external_models()['vgg16_caffe']),
                openmmlab2=('openmmlab://vgg16_caffe', mm_ckpt.get_external_models()['vgg16_caffe']),
                mmcls=('mmcls://resnet50', mm_ckpt.get_mmcls_models()['resnet50']))


@pytest.mark.parametrize('scheme', ['torchvision', 'modelzoo', 'openmmlab', 'openmmlab2', 'mmcls'])
def test_prefixed_names_refuse_a_planted_payload_and_load_the_real_file(scheme, hub_dir, tmp_path):
    name, url = _names()[scheme]
    marker = str(tmp_path / 'pwned')
    _plant(hub_dir, url, dict(state_dict={'w': torch.ones(1)}, evil=_Payload(marker)))
    for load in (lambda: CheckpointLoader.load_checkpoint(name, map_location='cpu'),
                 lambda: mm_ckpt.load_checkpoint(torch.nn.Linear(1, 1), name, map_location='cpu')):
        with pytest.raises(CheckpointSafetyError, match='Refused'):
            load()
        assert not osp.exists(marker), 'the payload ran'
    _plant(hub_dir, url, {'state_dict': {'backbone.w': torch.ones(2)}, 'meta': {}})
    ckpt = CheckpointLoader.load_checkpoint(name, map_location='cpu')
    assert torch.equal(ckpt['state_dict']['backbone.w'] if scheme != 'mmcls' else ckpt['state_dict']['w'],
                       torch.ones(2))


def test_hub_functions_and_their_copies_are_safe(hub_dir, tmp_path):
    import mmengine.utils.dl_utils as dl_utils
    import torchvision
    from torchvision.models import ResNet18_Weights
    marker = str(tmp_path / 'pwned')
    url = ResNet18_Weights.IMAGENET1K_V1.url
    _plant(hub_dir, url, {'fc.bias': torch.zeros(1), 'x': _Payload(marker)})
    calls = [lambda: torch.hub.load_state_dict_from_url(url, weights_only=False),
             lambda: torch.utils.model_zoo.load_url(url), lambda: dl_utils.load_url(url),
             lambda: mm_ckpt.load_url(url), lambda: mm_ckpt.load_from_http(url),
             lambda: torchvision.models.resnet18(weights=ResNet18_Weights.IMAGENET1K_V1)]
    for call in calls:
        with pytest.raises(CheckpointSafetyError):
            call()
        assert not osp.exists(marker), 'the payload ran'
    _plant(hub_dir, url, {'fc.bias': torch.zeros(3)})
    assert torch.equal(torch.hub.load_state_dict_from_url(url)['fc.bias'], torch.zeros(3))


def test_bare_torch_load_in_mmpretrain_is_safe(tmp_path, monkeypatch):
    monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')
    from mmpretrain.models.utils import vector_quantizer
    marker = str(tmp_path / 'pwned')
    path = str(tmp_path / 'codebook.pth')
    torch.save({'x': _Payload(marker)}, path)
    with pytest.raises(CheckpointSafetyError):
        vector_quantizer.torch.load(path, map_location='cpu')
    assert not osp.exists(marker)
    assert vector_quantizer.torch.nn is torch.nn  # everything else is torch itself


def test_every_torch_load_call_site_of_the_stack_is_routed():
    """Re-scan the installed packages: a new call site (an upgrade) must be added to CALL_SITES."""
    roots = site.getsitepackages()
    pattern = re.compile(r'(?<![\w.])(torch\.load|load_url|load_state_dict_from_url)\(')
    found = set()
    for root in roots:
        for pkg in ('mmengine', 'mmcv', 'mmdet', 'mmseg', 'mmpretrain', 'torchvision', 'torch/hub.py'):
            base = osp.join(root, pkg)
            files = [base] if base.endswith('.py') else [osp.join(d, f) for d, _, fs in os.walk(base) for f in fs
                                                          if f.endswith('.py') and '.mim' not in d]
            for f in files:
                if not osp.isfile(f):
                    continue
                for line in open(f, encoding='utf-8', errors='ignore'):
                    code = line.split('#', 1)[0]
                    if pattern.search(code) and not re.match(r'\s*(def |>>>|r?""")', code):
                        found.add(osp.relpath(f, root))
    assert found, 'scanned nothing: is the stack installed in site-packages?'
    assert found <= set(CALL_SITES), f'unrouted torch.load call sites: {sorted(found - set(CALL_SITES))}'


def test_trusted_file_and_allowed_globals_are_explicit(tmp_path, monkeypatch):
    path = str(tmp_path / 'custom.pth')
    torch.save({'state_dict': {}, 'extra': Opaque(3)}, path)
    with pytest.raises(CheckpointSafetyError) as err:
        safe_load(path)
    message = str(err.value)
    assert TRUSTED_ENV in message and ALLOWED_GLOBALS_ENV in message and 'checkpoint_safety' in message
    assert 'weights_only=False' not in message and 'Opaque' in message
    monkeypatch.setenv(ALLOWED_GLOBALS_ENV, f'{__name__}.Opaque')
    assert safe_load(path)['extra'].v == 3
    monkeypatch.delenv(ALLOWED_GLOBALS_ENV)
    other = str(tmp_path / 'other.pth')
    torch.save({'extra': Opaque(4)}, other)
    monkeypatch.setenv(TRUSTED_ENV, path)
    assert safe_load(path)['extra'].v == 3
    with pytest.raises(CheckpointSafetyError):  # trusting one file trusts no other
        safe_load(other)
    monkeypatch.setenv(ALLOWED_GLOBALS_ENV, 'no_such_module.Thing')
    with pytest.raises(ValueError, match='no_such_module.Thing'):
        safe_load(other)


@pytest.mark.slow
def test_train_with_torchvision_pretrained_refuses_a_planted_payload(tmp_path, hub_dir, tiny_shapes):
    """The reported attack: a stock-style config with init_cfg torchvision://resnet18 trained by tools/train.py."""
    from tests.conftest import shapes_overrides, write_config
    marker = str(tmp_path / 'pwned')
    _plant(hub_dir, mm_ckpt.get_torchvision_models()['resnet18'], {'conv1.weight': _Payload(marker)})
    cfg = write_config(str(tmp_path / 'cfg.py'), 'configs/quickstart/fcos_r18-c32_fpn_1xb8-12e_shapes.py',
                       shapes_overrides(tiny_shapes, 'det') + "\nmodel = dict(backbone=dict(init_cfg=dict(_delete_=True, "
                       "type='Pretrained', checkpoint='torchvision://resnet18')))\ntrain_cfg = dict(max_epochs=1)")
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, 'tools/train.py', cfg, '--work-dir', str(tmp_path / 'w')], cwd=REPO,
                          env=dict(os.environ), capture_output=True, text=True, timeout=600)
    assert proc.returncode != 0
    assert 'CheckpointSafetyError' in proc.stderr + proc.stdout
    assert not osp.exists(marker), 'the payload ran during training'


def test_config_key_checkpoint_safety(tmp_path, monkeypatch):
    from mmengine.config import Config

    from mmext.utils import checkpoint as ck
    monkeypatch.setattr(ck, '_TRUSTED', set())
    monkeypatch.setattr(ck, '_EXTRA_GLOBALS', [])
    path = str(tmp_path / 'custom.pth')
    torch.save({'extra': Opaque(5)}, path)
    with pytest.raises(KeyError, match='trusted_file'):
        ck.apply_checkpoint_safety_cfg(Config(dict(checkpoint_safety=dict(trusted_file=[path]))))
    with pytest.raises(TypeError, match='trusted_files'):
        ck.apply_checkpoint_safety_cfg(Config(dict(checkpoint_safety=dict(trusted_files=path))))
    ck.apply_checkpoint_safety_cfg(Config(dict(checkpoint_safety=dict(trusted_files=[path]))))
    assert safe_load(path)['extra'].v == 5
