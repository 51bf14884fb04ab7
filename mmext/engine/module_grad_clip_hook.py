"""Attaches a distiller's ``module_grad_clip`` to the runner's optimizer before training, for every launcher.

Af-DCD ("Augmentation-free Dense Contrastive Knowledge Distillation for Efficient Semantic Segmentation",
NeurIPS 2023) clips the gradient norm of its loss module (align conv and projector) only. The distiller does this
with a pre-hook on the optimizer's ``step``, registered in its own ``train_step``. Under
``MMDistributedDataParallel`` the wrapper runs its own ``train_step`` and the distiller's is never called, so the
pre-hook must be registered from outside the model: this hook does it in ``before_train`` (the registration is
idempotent, so single-process runs with the hook clip exactly once per step too).
"""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from ..registry import register

__all__ = ['ModuleGradClipHook']


@register('HOOKS')
class ModuleGradClipHook(Hook):
    """Registers the model's ``module_grad_clip`` on ``runner.optim_wrapper``'s optimizer before training.

    A model without ``module_grad_clip`` (or with it set to None) is left alone, so the hook can stay in a config
    whose ablations switch the clipping off.
    """

    priority = 'NORMAL'

    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if getattr(model, 'module_grad_clip', None) is None:
            return
        optimizer = getattr(runner.optim_wrapper, 'optimizer', None)
        if optimizer is None:
            raise TypeError(f'ModuleGradClipHook: expected one optimizer wrapper (OptimWrapper / AmpOptimWrapper) '
                            f'for {type(model).__name__}.module_grad_clip, got {type(runner.optim_wrapper).__name__}')
        model.attach_module_grad_clip(optimizer)
        cfg = model.module_grad_clip
        runner.logger.info(f'ModuleGradClipHook: gradient norm of {cfg["modules"]} clipped at {cfg["max_norm"]} '
                           f'(norm type {cfg["norm_type"]}) before every optimizer step')
