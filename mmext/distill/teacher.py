"""Building models from configs and holding a frozen teacher outside the module tree.

The teacher is kept in a :class:`FrozenTeacher` holder that is *not* an ``nn.Module`` attribute of the distiller,
so its parameters are never returned by ``parameters()`` (hence never in the optimizer nor in DDP's parameter
set, and its buffers are never broadcast by DDP) and never appear in ``state_dict()`` (hence never in saved
checkpoints). The distiller moves it along in ``_apply`` and keeps it in eval mode in ``train()``.
"""
import copy
import os.path as osp
from typing import Optional, Union

import torch
from mmengine.config import Config, ConfigDict
from mmengine.logging import print_log
from mmengine.registry import MODELS, DefaultScope
from mmengine.runner.checkpoint import _load_checkpoint, load_state_dict
from torch import nn

__all__ = ['FrozenTeacher', 'build_model_from_cfg', 'build_frozen_teacher']


def build_model_from_cfg(cfg: Union[str, dict, ConfigDict, nn.Module], arg_name: str = 'model') -> nn.Module:
    """Build a model from a config dict, a config file path, or return a given module unchanged.

    A path is read with :meth:`Config.fromfile` (``mmdet::``/``mmseg::``/``mmpretrain::`` bases work), or, when it
    is a package config such as ``'mmseg::deeplabv3/deeplabv3_r101-d8_4xb2-80k_cityscapes-512x1024.py'``, with
    :func:`mmengine.hub.get_config`; its ``model`` is built inside its own ``default_scope`` and its top-level
    ``data_preprocessor`` is merged into the model as mmengine's Runner does.

    Args:
        cfg: A model config dict, the path of a full config file, or an ``nn.Module``.
        arg_name: Name of the argument, used in error messages.
    """
    if isinstance(cfg, nn.Module):
        return cfg
    scope = None
    if isinstance(cfg, str):
        if '::' in cfg and not osp.isfile(cfg):
            from mmengine.hub import get_config
            try:
                full = get_config(cfg)
            except Exception as exc:
                raise FileNotFoundError(f'{arg_name}: package config {cfg!r} could not be read ({exc})') from exc
        elif not osp.isfile(cfg):
            raise FileNotFoundError(f'{arg_name}: config file {cfg!r} does not exist')
        else:
            full = Config.fromfile(cfg)
        if 'model' not in full:
            raise KeyError(f'{arg_name}: config file {cfg!r} has no `model`')
        model_cfg = copy.deepcopy(full.model)
        if full.get('data_preprocessor') is not None:
            model_cfg.setdefault('data_preprocessor', copy.deepcopy(full.data_preprocessor))
        scope = full.get('default_scope')
    elif isinstance(cfg, (dict, ConfigDict)):
        if 'type' not in cfg:
            raise KeyError(f'{arg_name}: a model config dict needs a `type`, got keys {sorted(cfg)}')
        model_cfg = copy.deepcopy(cfg)
    else:
        raise TypeError(f'{arg_name} must be a config dict, a config file path or an nn.Module, '
                        f'got {type(cfg).__name__}')
    with DefaultScope.overwrite_default_scope(scope):
        return MODELS.build(model_cfg)


class FrozenTeacher:
    """Holds a frozen teacher outside the distiller's module tree.

    The module is put in eval mode (BN statistics, Dropout and DropPath all off) with ``requires_grad`` False.
    ``copy.deepcopy`` (e.g. mmengine's EMA hook) shares the holder instead of copying the frozen weights.

    Args:
        module (nn.Module): The teacher model.
    """

    def __init__(self, module: nn.Module) -> None:
        self.module = module
        self.freeze()

    def freeze(self) -> None:
        """``eval()`` and ``requires_grad_(False)`` on the whole teacher."""
        self.module.eval()
        self.module.requires_grad_(False)

    def __deepcopy__(self, memo: dict) -> 'FrozenTeacher':
        return self

    def __repr__(self) -> str:
        return f'FrozenTeacher({type(self.module).__name__})'


def build_frozen_teacher(cfg: Union[str, dict, ConfigDict, nn.Module],
                         ckpt: Optional[str],
                         allow_random_init: bool = False) -> FrozenTeacher:
    """Build a teacher from a config (path or dict), load ``ckpt`` on the CPU safely and freeze it.

    Args:
        cfg: Teacher config dict, config file path or module.
        ckpt: Path (or URL) of the teacher checkpoint; loaded with mmengine's loader, which mmext made safe
            (``weights_only=True``). A checkpoint missing teacher keys is an error.
        allow_random_init: Accept ``ckpt=None`` (a randomly initialised teacher; only meant for tests).
    """
    teacher = build_model_from_cfg(cfg, 'teacher')
    if ckpt is None:
        if not allow_random_init:
            raise ValueError('teacher_ckpt: a teacher needs a checkpoint (path or URL); got None. '
                             'Set allow_random_teacher=True only for tests.')
        if hasattr(teacher, 'init_weights'):
            teacher.init_weights()
        print_log('distiller: the teacher is randomly initialised (teacher_ckpt=None)', 'current', level=30)
    else:
        checkpoint = _load_checkpoint(ckpt, map_location='cpu')
        state = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, dict) else checkpoint
        if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
            raise TypeError(f'teacher_ckpt {ckpt!r}: expected a state dict of tensors (or a checkpoint with '
                            f'`state_dict`)')
        missing = set(teacher.state_dict()) - set(state)
        if missing:
            raise KeyError(f'teacher_ckpt {ckpt!r} lacks {len(missing)} teacher keys, e.g. {sorted(missing)[:5]}; '
                           f'is it the checkpoint of the teacher config?')
        load_state_dict(teacher, state, strict=False, logger='current')
    return FrozenTeacher(teacher)
