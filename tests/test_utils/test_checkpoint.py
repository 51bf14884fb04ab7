"""Safe checkpoint loading: mmengine's own checkpoints load with weights_only=True; crafted pickles are refused."""
import os
import os.path as osp
import pickle
from collections import OrderedDict

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub
from mmengine.runner import CheckpointLoader, load_checkpoint

import mmext  # noqa: F401  (installs the safe loaders)
from mmext.utils import CheckpointSafetyError, safe_load


class _Payload:
    """Unpickling this calls ``os.system``: the attack a crafted checkpoint carries."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


def _mmengine_like_checkpoint() -> dict:
    hub = MessageHub.get_instance('mmext-test-ckpt')
    for i in range(5):
        hub.update_scalar('train/loss', float(i) / 3)
    hub.update_info('epoch', 2)
    hub.update_info('np_value', np.float64(0.5))
    return dict(
        meta=dict(epoch=2, iter=10, seed=np.int64(3), dataset_meta=dict(classes=('a', 'b'), palette=[(1, 2, 3)]),
                  arr=np.arange(4, dtype=np.float32), cfg='model = dict()'),
        state_dict=OrderedDict(w=torch.ones(2, 2)),
        message_hub=hub.state_dict(),
        optimizer=dict(state={}, param_groups=[dict(lr=0.1, params=[0])]))


def test_mmengine_checkpoint_loads_safely(tmp_path):
    path = str(tmp_path / 'epoch_2.pth')
    torch.save(_mmengine_like_checkpoint(), path)
    # what mmengine's loader does for --resume and load_from
    ckpt = CheckpointLoader.load_checkpoint(path, map_location='cpu')
    assert torch.equal(ckpt['state_dict']['w'], torch.ones(2, 2))
    assert isinstance(ckpt['message_hub']['log_scalars']['train/loss'], HistoryBuffer)
    assert ckpt['message_hub']['log_scalars']['train/loss'].mean(5) == pytest.approx(np.mean([0, 1, 2, 3, 4]) / 3)
    assert ckpt['meta']['arr'].tolist() == [0, 1, 2, 3]
    model = torch.nn.Module()
    model.w = torch.nn.Parameter(torch.zeros(2, 2))
    load_checkpoint(model, path, map_location='cpu')
    assert torch.equal(model.w.data, torch.ones(2, 2))


def test_stock_torch_load_would_fail_without_the_allow_list(tmp_path):
    """The bug being fixed: torch >= 2.6 refuses mmengine's checkpoints by default."""
    path = str(tmp_path / 'c.pth')
    torch.save(_mmengine_like_checkpoint(), path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)


@pytest.mark.parametrize('where', ['top', 'meta'])
def test_crafted_checkpoint_is_refused_and_executes_nothing(tmp_path, where):
    marker = str(tmp_path / 'pwned')
    ckpt = _mmengine_like_checkpoint()
    if where == 'top':
        ckpt['evil'] = _Payload(marker)
    else:
        ckpt['meta']['hook'] = _Payload(marker)
    path = str(tmp_path / 'evil.pth')
    torch.save(ckpt, path)
    for load in (lambda: safe_load(path), lambda: CheckpointLoader.load_checkpoint(path, map_location='cpu'),
                 lambda: load_checkpoint(torch.nn.Linear(2, 2), path)):
        with pytest.raises(CheckpointSafetyError, match='Refused to load checkpoint'):
            load()
        assert not osp.exists(marker), 'the payload ran'
    # the stock, unsafe way really would have executed it: the test's payload is live
    torch.load(path, weights_only=False)
    assert osp.exists(marker)


def test_refuses_even_when_torch_is_told_to_default_to_unsafe(tmp_path, monkeypatch):
    monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')
    marker = str(tmp_path / 'pwned')
    path = str(tmp_path / 'evil.pth')
    torch.save(dict(state_dict={}, evil=_Payload(marker)), path)
    with pytest.raises(CheckpointSafetyError):
        CheckpointLoader.load_checkpoint(path, map_location='cpu')
    assert not osp.exists(marker)


class _GetattrPayload:
    """Reaches for a method through getattr, the one global the allow-list maps to a restricted version."""

    def __reduce__(self):
        return getattr, (np.ndarray, 'tofile')


def test_getattr_is_restricted_to_history_buffer_statistics(tmp_path):
    path = str(tmp_path / 'g.pth')
    torch.save(dict(state_dict={}, x=_GetattrPayload()), path)
    with pytest.raises(CheckpointSafetyError, match='tofile'):
        safe_load(path)


def test_refusal_names_the_offending_global(tmp_path):
    path = str(tmp_path / 'evil.pth')
    torch.save(dict(state_dict={}, evil=_Payload(str(tmp_path / 'm'))), path)
    with pytest.raises(CheckpointSafetyError, match=r'GLOBAL (posix|os)\.system'):
        safe_load(path)


def test_resume_loading_in_a_fresh_process(tmp_path):
    """mmengine fills HistoryBuffer's statistics table lazily: loading must work before any buffer exists."""
    import subprocess
    import sys
    path = str(tmp_path / 'c.pth')
    torch.save(_mmengine_like_checkpoint(), path)
    code = ('import mmext; from mmengine.runner import CheckpointLoader; '
            f'c = CheckpointLoader.load_checkpoint({path!r}, map_location="cpu"); '
            'print(type(c["message_hub"]["log_scalars"]["train/loss"]).__name__)')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().endswith('HistoryBuffer')
