"""Per-iteration temperature schedules of the dynamic convolutions.

* ODConv ("Omni-Dimensional Dynamic Convolution", ICLR 2022, arXiv 2209.07947): the attention temperature goes
  linearly from 30 to 1 over the first 10 epochs (``main.py --temp_epoch 10 --temp_init 30``).
* KernelWarehouse ("KernelWarehouse: Rethinking the Design of Dynamic Convolution", ICML 2024, arXiv 2406.07879):
  tau goes linearly from 1 to 0 over the first 20 epochs (15 for MobileNetV2).

Formula (the released ``get_temperature`` after its off-by-one fix): with ``N = iters_per_epoch * temp_epochs``
and ``i`` the 1-based training iteration, ``value = final + max(0, (init - final) * (N - i) / N)``.

Where the value lives across a resume: the value is a pure function of ``runner.iter``, which mmengine stores in
every checkpoint and restores on ``--resume``; the hook recomputes it in ``before_train`` (after the resume) and
before every iteration, and also records it in the message hub's runtime info (saved in the checkpoint) as
``odconv_temperature`` / ``kw_temperature``. After training the layers are left at the final value, which is
also the default of freshly built layers (T = 1, tau = 0), so a model built for testing is deterministic.
"""
from typing import Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from ..ops.kernel_warehouse import KWLayerBase
from ..ops.odconv import ODConv2d
from ..registry import register

__all__ = ['DynamicConvTemperatureHook', 'ODConvTemperatureHook', 'KWTemperatureHook']


class DynamicConvTemperatureHook(Hook):
    """Base: anneal ``layer.update_temperature(v)`` of every ``layer_type`` module linearly per iteration.

    Args:
        temp_init (float): Value at the first iteration.
        temp_final (float): Value from ``temp_epochs`` on (and at inference).
        temp_epochs (float): Length of the annealing, in epochs.
        iters_per_epoch (int, optional): Overrides ``len(runner.train_dataloader)`` (for iteration-based loops
            whose loader has no length). Defaults to None.
    """

    priority = 'NORMAL'
    layer_type: type = object
    info_key: str = ''

    def __init__(self, temp_init: float, temp_final: float, temp_epochs: float,
                 iters_per_epoch: Optional[int] = None) -> None:
        if temp_epochs <= 0:
            raise ValueError(f'{type(self).__name__}: temp_epochs must be > 0, got {temp_epochs}')
        self.temp_init, self.temp_final, self.temp_epochs = float(temp_init), float(temp_final), temp_epochs
        self.iters_per_epoch = iters_per_epoch

    def value_at(self, iteration: int, iters_per_epoch: int) -> float:
        """The scheduled value for the 0-based ``iteration``."""
        total = max(iters_per_epoch * self.temp_epochs, 1)
        frac = max(0.0, (total - (iteration + 1)) / total)
        return self.temp_final + (self.temp_init - self.temp_final) * frac

    def set_value(self, model, value: float) -> int:
        """Apply ``value`` to every dynamic layer of ``model``; return how many were set."""
        if is_model_wrapper(model):
            model = model.module
        count = 0
        for m in model.modules():
            if isinstance(m, self.layer_type):
                m.update_temperature(value)
                count += 1
        return count

    def _apply(self, runner) -> None:
        ipe = self.iters_per_epoch or len(runner.train_dataloader)
        value = self.value_at(runner.iter, ipe)
        self.set_value(runner.model, value)
        runner.message_hub.update_info(self.info_key, value)

    def before_train(self, runner) -> None:
        if self.set_value(runner.model, self.temp_init) == 0:
            runner.logger.warning(f'{type(self).__name__}: the model has no {self.layer_type.__name__} layer')
        self._apply(runner)

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        self._apply(runner)

    def after_train(self, runner) -> None:
        self.set_value(runner.model, self.temp_final)


@register('HOOKS')
class ODConvTemperatureHook(DynamicConvTemperatureHook):
    """ODConv attention temperature: 30 -> 1 linearly over the first ``temp_epochs`` (default 10) epochs.

    Args:
        temp_init (float): Defaults to 30.
        temp_final (float): Defaults to 1.
        temp_epochs (float): Defaults to 10.
        iters_per_epoch (int, optional): See :class:`DynamicConvTemperatureHook`.
    """

    layer_type = ODConv2d
    info_key = 'odconv_temperature'

    def __init__(self, temp_init: float = 30.0, temp_final: float = 1.0, temp_epochs: float = 10,
                 iters_per_epoch: Optional[int] = None) -> None:
        super().__init__(temp_init, temp_final, temp_epochs, iters_per_epoch)


@register('HOOKS')
class KWTemperatureHook(DynamicConvTemperatureHook):
    """KernelWarehouse tau: 1 -> 0 linearly over the first ``temp_epochs`` (default 20; 15 for MobileNetV2).

    Args:
        temp_init (float): Defaults to 1.
        temp_final (float): Defaults to 0.
        temp_epochs (float): Defaults to 20.
        iters_per_epoch (int, optional): See :class:`DynamicConvTemperatureHook`.
    """

    layer_type = KWLayerBase
    info_key = 'kw_temperature'

    def __init__(self, temp_init: float = 1.0, temp_final: float = 0.0, temp_epochs: float = 20,
                 iters_per_epoch: Optional[int] = None) -> None:
        super().__init__(temp_init, temp_final, temp_epochs, iters_per_epoch)
