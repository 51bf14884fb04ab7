"""A dynamic-conv model trained without its temperature hook is reported loudly at its first training forward."""
import uuid

import pytest
import torch
from mmengine.logging import MMLogger

from mmext.backbones import KWResNet, ODResNet
from mmext.engine import KWTemperatureHook, ODConvTemperatureHook
from mmext.ops.temperature_check import reset_temperature_warnings
from tests.test_engine.test_dynamic_conv_temperature_hooks import _runner


@pytest.fixture
def log_file(tmp_path):
    reset_temperature_warnings()
    path = tmp_path / 'train.log'
    MMLogger.get_instance(f'temp_warning_{uuid.uuid4().hex}', log_file=str(path))  # becomes the current logger
    yield path
    reset_temperature_warnings()


def _tiny(kind):
    if kind == 'od':
        return ODResNet(18, kernel_num=2, base_channels=8)
    return KWResNet(18, base_channels=8, cell_num_ratio=1)


def _train_step(model):
    model.train()
    model(torch.randn(2, 3, 32, 32))


@pytest.mark.parametrize('kind,hook', [('od', 'ODConvTemperatureHook'), ('kw', 'KWTemperatureHook')])
def test_training_without_hook_warns_once(kind, hook, log_file):
    model = _tiny(kind)
    model.eval()
    model(torch.randn(1, 3, 32, 32))  # inference is not training: silent
    assert 'WARNING' not in log_file.read_text()
    _train_step(model)
    _train_step(model)
    text = log_file.read_text()
    assert text.count('WARNING') == 1, text
    assert f'trained from scratch without {hook}' in text and f"dict(type='{hook}')" in text


@pytest.mark.parametrize('kind,hook_cls', [('od', ODConvTemperatureHook), ('kw', KWTemperatureHook)])
def test_training_with_hook_is_silent(kind, hook_cls, log_file):
    model = _tiny(kind)
    hook_cls(temp_epochs=1).before_train(_runner(model, 0))
    _train_step(model)
    assert 'without' not in log_file.read_text()


def test_fixed_value_on_purpose_is_silent(log_file):
    model = _tiny('kw')
    KWTemperatureHook(temp_init=0.5, temp_final=0.5, temp_epochs=1).before_train(_runner(model, 0))
    _train_step(model)
    assert 'without' not in log_file.read_text()


def test_finetuning_loaded_weights_is_info_not_warning(log_file):
    src = _tiny('od')
    model = _tiny('od')
    model.load_state_dict(src.state_dict())
    _train_step(model)
    text = log_file.read_text()
    assert 'fine-tuned from loaded weights without ODConvTemperatureHook' in text and 'WARNING' not in text
