"""ODConvTemperatureHook / KWTemperatureHook: per-iteration linear schedules, resume, final values."""
from types import SimpleNamespace

import pytest
import torch.nn as nn
from mmengine.logging import MessageHub, MMLogger

from mmext.engine import KWTemperatureHook, ODConvTemperatureHook
from mmext.ops import ODConv2d, WarehouseManager


class _Net(nn.Module):

    def __init__(self):
        super().__init__()
        self.od = ODConv2d(8, 8, 3, padding=1, kernel_num=2)
        self.warehouse_manager = WarehouseManager()
        self.kw = self.warehouse_manager.reserve(8, 8, 3, padding=1, warehouse_name='stage0_layer0_conv0')
        self.warehouse_manager.store()
        self.warehouse_manager.allocate(self)


def _runner(model, it, iters_per_epoch=5):
    return SimpleNamespace(model=model, iter=it, train_dataloader=[None] * iters_per_epoch,
                           message_hub=MessageHub.get_instance('test_dynamic_conv_hooks'),
                           logger=MMLogger.get_instance('test_dynamic_conv_hooks'))


def test_odconv_schedule_linear_30_to_1_per_iteration():
    hook = ODConvTemperatureHook(temp_epochs=2)  # N = 10 iterations
    assert hook.value_at(0, 5) == pytest.approx(1 + 29 * 9 / 10)
    assert hook.value_at(4, 5) == pytest.approx(1 + 29 * 5 / 10)
    assert hook.value_at(9, 5) == pytest.approx(1.0)
    assert hook.value_at(500, 5) == pytest.approx(1.0)
    vals = [hook.value_at(i, 5) for i in range(10)]
    assert all(a > b for a, b in zip(vals, vals[1:]))


def test_kw_schedule_linear_1_to_0():
    hook = KWTemperatureHook(temp_epochs=1)
    assert hook.value_at(0, 4) == pytest.approx(0.75)
    assert hook.value_at(3, 4) == pytest.approx(0.0)
    assert hook.value_at(100, 4) == 0.0


def test_hooks_set_layers_record_value_and_resume():
    net = _Net()
    od, kw = ODConvTemperatureHook(temp_epochs=2), KWTemperatureHook(temp_epochs=2)
    runner = _runner(net, 0)
    od.before_train(runner)
    kw.before_train(runner)
    assert float(net.od.attention.temperature) == pytest.approx(od.value_at(0, 5))
    assert float(net.kw.attention.tau) == pytest.approx(0.9)
    runner.iter = 3
    od.before_train_iter(runner, 3)
    kw.before_train_iter(runner, 3)
    assert runner.message_hub.get_info('odconv_temperature') == pytest.approx(od.value_at(3, 5))
    assert runner.message_hub.get_info('kw_temperature') == pytest.approx(0.6)
    # a resumed run (fresh model and hooks, runner.iter restored from the checkpoint) gets the same value
    net2 = _Net()
    resumed = _runner(net2, 3)
    ODConvTemperatureHook(temp_epochs=2).before_train(resumed)
    KWTemperatureHook(temp_epochs=2).before_train(resumed)
    assert float(net2.od.attention.temperature) == pytest.approx(float(net.od.attention.temperature))
    assert float(net2.kw.attention.tau) == pytest.approx(float(net.kw.attention.tau))
    od.after_train(runner)
    kw.after_train(runner)
    assert float(net.od.attention.temperature) == 1.0 and float(net.kw.attention.tau) == 0.0


def test_bad_epochs():
    with pytest.raises(ValueError, match='temp_epochs'):
        ODConvTemperatureHook(temp_epochs=0)
