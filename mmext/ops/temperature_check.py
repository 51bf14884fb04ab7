"""A loud warning when a dynamic-convolution model is trained without its temperature schedule.

ODConv ("Omni-Dimensional Dynamic Convolution", ICLR 2022, arXiv 2209.07947) anneals its attention temperature
30 -> 1 and KernelWarehouse ("KernelWarehouse: Rethinking the Design of Dynamic Convolution", ICML 2024,
arXiv 2406.07879) its tau 1 -> 0; the layers are built at the final (inference) value. A model trained from
scratch without ``ODConvTemperatureHook`` / ``KWTemperatureHook`` therefore sits at the final value from the first
iteration, which for KernelWarehouse does not learn (``configs/kernelwarehouse/README.md``). The check lives in the
layers, so it fires whatever tool or runner trains them: at the first training-mode forward of a layer whose
temperature was never set (the hooks set it, also when ``temp_init == temp_final`` for a deliberate fixed value)
and whose weights were not loaded from a checkpoint (fine-tuning a converged model at the final value, as the
downstream configs do, only gets an info line).
"""
import logging
from typing import Set

from mmengine.logging import print_log

__all__ = ['TemperatureScheduleCheck', 'reset_temperature_warnings']

_REPORTED: Set[str] = set()


def reset_temperature_warnings() -> None:
    """Forget which layer types were reported (each is reported once per process)."""
    _REPORTED.clear()


class TemperatureScheduleCheck:
    """Mixin for the dynamic layers: call :meth:`_check_temperature_schedule` in ``forward``.

    Subclasses set ``temperature_hook`` (the hook's registered name) and ``temperature_desc`` (what is annealed
    and its final value); ``update_temperature`` must call :meth:`_mark_temperature_scheduled`.
    """

    temperature_hook: str = ''
    temperature_desc: str = ''
    _temperature_scheduled: bool = False
    _weights_loaded: bool = False

    def _mark_temperature_scheduled(self) -> None:
        self._temperature_scheduled = True

    def _load_from_state_dict(self, *args, **kwargs) -> None:
        super()._load_from_state_dict(*args, **kwargs)  # type: ignore[misc]
        self._weights_loaded = True

    def _check_temperature_schedule(self) -> None:
        if not self.training or self._temperature_scheduled:  # type: ignore[attr-defined]
            return
        key = f'{self.temperature_hook}:{self._weights_loaded}'
        if key in _REPORTED:
            return
        _REPORTED.add(key)
        layer = type(self).__name__
        if self._weights_loaded:
            print_log(f'{layer} layers are fine-tuned from loaded weights without {self.temperature_hook}: '
                      f'{self.temperature_desc} stays at its final (inference) value.', logger='current',
                      level=logging.INFO)
            return
        print_log(f'{layer} layers are being trained from scratch without {self.temperature_hook}: '
                  f'{self.temperature_desc} stays at its final (inference) value from the first iteration, '
                  f'which the papers anneal to and which does not train well from scratch (see '
                  f"configs/kernelwarehouse/README.md). Add custom_hooks = [dict(type='{self.temperature_hook}')] "
                  f'to the config (temp_init == temp_final trains at a fixed value on purpose).',
                  logger='current', level=logging.WARNING)
