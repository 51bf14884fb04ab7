"""A piecewise-constant schedule of a distiller's distillation-loss weight, e.g. NORM's beta_1(epoch)
("NORM: Knowledge Distillation via N-to-One Representation Matching", ICLR 2023, arXiv:2305.13803):
ImageNet 0.1 / 0.5 / 0.9 / 0.5 / 0.1 switching at epochs 5, 15, 60, 80; CIFAR 0.1 / 0.5 / 1 / 0.5 / 0.1 at
epochs 10, 20, 180, 210.

Where the value lives across a resume: it is a function of ``runner.iter`` (restored by ``--resume``) recomputed
before every iteration, and it is also the distiller's persistent buffer ``distill_loss_scale``, which is saved in
every checkpoint and loaded back with it.
"""
from typing import Optional, Sequence

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from ..registry import register

__all__ = ['DistillLossWeightHook']


@register('HOOKS')
class DistillLossWeightHook(Hook):
    """Sets ``model.set_distill_loss_scale(values[k])`` where ``k`` is the number of milestones passed.

    Args:
        milestones (Sequence[float]): Increasing switch points, in epochs (``by_epoch=True``) or iterations.
        values (Sequence[float]): ``len(milestones) + 1`` values.
        by_epoch (bool): Milestones in epochs, converted with the train loader's length. Defaults to True.
        iters_per_epoch (int, optional): Overrides ``len(runner.train_dataloader)``. Defaults to None.
        final_value (float, optional): Value left in the model after training. Defaults to the last value.
    """

    priority = 'NORMAL'

    def __init__(self, milestones: Sequence[float], values: Sequence[float], by_epoch: bool = True,
                 iters_per_epoch: Optional[int] = None, final_value: Optional[float] = None) -> None:
        if len(values) != len(milestones) + 1:
            raise ValueError(f'DistillLossWeightHook: values needs len(milestones) + 1 = {len(milestones) + 1} '
                             f'entries, got {len(values)}')
        if list(milestones) != sorted(milestones):
            raise ValueError(f'DistillLossWeightHook: milestones must increase, got {list(milestones)}')
        self.milestones = [float(m) for m in milestones]
        self.values = [float(v) for v in values]
        self.by_epoch = by_epoch
        self.iters_per_epoch = iters_per_epoch
        self.final_value = final_value

    def value_at(self, iteration: int, iters_per_epoch: int = 1) -> float:
        """The weight at the 0-based ``iteration``."""
        position = iteration / iters_per_epoch if self.by_epoch else iteration
        return self.values[sum(position >= m for m in self.milestones)]

    @staticmethod
    def _model(runner):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if not hasattr(model, 'set_distill_loss_scale'):
            raise TypeError(f'DistillLossWeightHook needs an mmext distiller model, got {type(model).__name__}')
        return model

    def _apply(self, runner) -> None:
        ipe = (self.iters_per_epoch or len(runner.train_dataloader)) if self.by_epoch else 1
        value = self.value_at(runner.iter, ipe)
        self._model(runner).set_distill_loss_scale(value)
        runner.message_hub.update_scalar('train/distill_loss_scale', value)

    def before_train(self, runner) -> None:
        self._apply(runner)

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        self._apply(runner)

    def after_train(self, runner) -> None:
        if self.final_value is not None:
            self._model(runner).set_distill_loss_scale(self.final_value)
