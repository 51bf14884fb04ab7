"""The distiller base: owns the student, a frozen teacher outside the module tree, recorders and the step
bookkeeping shared by every method.

Design (``shared/docs/references/distill.md`` §8.3-8.4 lists the mmrazor flaws this avoids):

* the teacher lives in a :class:`~mmext.distill.teacher.FrozenTeacher` holder, so it is in neither
  ``parameters()`` (optimizer, DDP) nor ``state_dict()`` (checkpoints); ``train()`` keeps all of it in eval
  mode (BN, Dropout, DropPath) and it runs under ``no_grad`` through ``extract_feat`` when only backbone/neck
  features are needed, never in ``loss`` mode;
* records are taken only inside the loss step and cleared when it ends, so validation keeps nothing alive;
* ``predict`` and ``tensor`` run the student only, so validation measures the deployable model;
* loss keys are ``student.*`` (the student's own losses), ``aux.*`` (auxiliary supervision) and ``distill.*``
  (terms against a teacher or peer, multiplied by ``distill_loss_scale`` which a schedule hook sets and which
  is a buffer, so resuming restores it);
* ``export_state_dict()`` gives the student's own un-prefixed state dict, loadable by the student's config;
* ``module_grad_clip`` clips the gradient norm of named distiller modules only (Af-DCD clips its loss module's
  parameters, not the student's), between backward and the optimizer step; distributed runs need
  :class:`~mmext.engine.ModuleGradClipHook` in ``custom_hooks`` (and refuse to train without it).
"""
from typing import Dict, List, Optional, Union

import torch
from mmengine.model import BaseModel
from mmengine.structures import BaseDataElement
from torch import nn

from ..recorder import RecorderGroup
from ..teacher import FrozenTeacher, build_frozen_teacher, build_model_from_cfg

__all__ = ['BaseDistiller']

ConfigLike = Union[str, dict, nn.Module]


class BaseDistiller(BaseModel):
    """Base class of mmext distillers. Subclasses implement :meth:`compute_losses`.

    Args:
        student (dict | str | nn.Module): The student model config (any mmpretrain/mmdet/mmseg model), a config
            file path, or a module.
        teacher (dict | str | nn.Module, optional): The teacher model config or config file path. Defaults to
            None (self- or mutual distillation).
        teacher_ckpt (str, optional): Teacher checkpoint, loaded on the CPU with mmext's safe loader.
        teacher_recorders (dict, optional): ``name -> dict(source=..., index=...)`` on the teacher.
        student_recorders (dict, optional): ``name -> dict(source=..., index=...)`` on the student.
        teacher_forward (str): ``'extract_feat'`` (backbone + neck only), ``'tensor'`` (the head too) or
            ``'auto'``: ``extract_feat`` when every teacher recorder is under ``backbone``/``neck``.
            Defaults to ``'auto'``.
        calculate_student_loss (bool): Add the student's own task losses. Defaults to True.
        build_teacher (bool): Build and load the teacher. False is for inference and export, where the teacher
            is not needed. Defaults to True.
        allow_random_teacher (bool): Accept ``teacher_ckpt=None`` (tests only). Defaults to False.
        data_preprocessor (dict | nn.Module, optional): Defaults to the student's own data preprocessor; a dict
            without ``type`` takes the type of the student's.
        module_grad_clip (dict, optional): ``dict(modules=[...], max_norm=..., norm_type=2)``: clip the gradient
            norm of these submodules (names of the distiller's children, e.g. ``'projector'``) before each
            optimizer step, on top of any ``optim_wrapper.clip_grad``. Defaults to None.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 student: ConfigLike,
                 teacher: Optional[ConfigLike] = None,
                 teacher_ckpt: Optional[str] = None,
                 teacher_recorders: Optional[Dict[str, object]] = None,
                 student_recorders: Optional[Dict[str, object]] = None,
                 teacher_forward: str = 'auto',
                 calculate_student_loss: bool = True,
                 build_teacher: bool = True,
                 allow_random_teacher: bool = False,
                 data_preprocessor: Optional[Union[dict, nn.Module]] = None,
                 module_grad_clip: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        student_model = build_model_from_cfg(student, 'student')
        if data_preprocessor is None:
            data_preprocessor = student_model.data_preprocessor
        elif isinstance(data_preprocessor, dict) and 'type' not in data_preprocessor:
            data_preprocessor = dict(data_preprocessor, type=type(student_model.data_preprocessor))
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if teacher_forward not in ('auto', 'extract_feat', 'tensor'):
            raise ValueError(f"teacher_forward must be 'auto', 'extract_feat' or 'tensor', got {teacher_forward!r}")
        self.student = student_model
        self.calculate_student_loss = calculate_student_loss
        # persistent, so a checkpoint restores the scheduled value on resume
        self.register_buffer('distill_loss_scale', torch.ones(()))
        self._teacher: Optional[FrozenTeacher] = None
        self.teacher_recorders: Optional[RecorderGroup] = None
        if teacher is not None and build_teacher:
            self._teacher = build_frozen_teacher(teacher, teacher_ckpt, allow_random_teacher)
            self.teacher_recorders = RecorderGroup(self._teacher.module, teacher_recorders or {}, detach=True)
        self.student_recorders = RecorderGroup(self.student, student_recorders or {})
        if teacher_forward == 'auto':
            sources = [r.source for r in (self.teacher_recorders.recorders.values()
                                          if self.teacher_recorders else [])]
            teacher_forward = ('extract_feat' if all(s.split('.')[0] in ('backbone', 'neck') for s in sources)
                               else 'tensor')
        self.teacher_forward = teacher_forward
        self.module_grad_clip = self._check_grad_clip(module_grad_clip)
        self._grad_clip_attached = False
        self._register_load_state_dict_pre_hook(self._accept_plain_student_checkpoint)

    # ------------------------------------------------------------------ teacher handling
    @property
    def teacher(self) -> Optional[nn.Module]:
        """The frozen teacher (not a registered submodule), or None."""
        return self._teacher.module if self._teacher is not None else None

    @property
    def has_teacher(self) -> bool:
        return self._teacher is not None

    def train(self, mode: bool = True) -> 'BaseDistiller':
        """Set the training mode of the student and distill modules; the teacher always stays in eval mode."""
        super().train(mode)
        if self._teacher is not None:
            self._teacher.module.eval()
        return self

    def _apply(self, fn, *args, **kwargs):
        """Move/cast the teacher together with the distiller (``to``, ``cuda``, ``half`` ...)."""
        if self._teacher is not None:
            self._teacher.module._apply(fn, *args, **kwargs)
        return super()._apply(fn, *args, **kwargs)

    @torch.no_grad()
    def run_teacher(self, inputs: torch.Tensor, data_samples: Optional[List[BaseDataElement]]) -> None:
        """One teacher forward under ``no_grad`` (in eval mode) that fills ``teacher_recorders``."""
        if self._teacher is None:
            raise RuntimeError(f'{type(self).__name__} has no teacher (built with teacher=None or '
                               f'build_teacher=False); it cannot compute the distillation loss')
        teacher = self._teacher.module
        if teacher.training:  # someone called teacher.train() directly
            teacher.eval()
        if self.teacher_forward == 'extract_feat':
            teacher.extract_feat(inputs)
        else:
            teacher(inputs, data_samples, mode='tensor')

    # ------------------------------------------------------------------ forward
    def forward(self, inputs: torch.Tensor, data_samples: Optional[list] = None, mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode in ('predict', 'tensor'):
            return self.student(inputs, data_samples, mode=mode)
        raise RuntimeError(f'Invalid mode "{mode}"; expected "loss", "predict" or "tensor"')

    def loss(self, inputs: torch.Tensor, data_samples: Optional[list] = None) -> Dict[str, torch.Tensor]:
        """Teacher (if any) then student, then the method's losses; records are cleared whatever happens."""
        self._check_grad_clip_attached()
        try:
            if self._teacher is not None:
                with self.teacher_recorders.recording():
                    self.run_teacher(inputs, data_samples)
            with self.student_recorders.recording():
                losses = self.network_losses(inputs, data_samples)
            for key, value in self.compute_losses(inputs, data_samples).items():
                if key.startswith('distill.'):
                    value = value * self.distill_loss_scale.to(value.dtype)
                losses[key] = value
            return losses
        finally:
            self.clear_records()

    def network_losses(self, inputs: torch.Tensor, data_samples: Optional[list]) -> Dict[str, torch.Tensor]:
        """The trained network's forward in loss mode, keys prefixed ``student.`` (dropped, but still run for the
        records, when ``calculate_student_loss`` is False)."""
        losses = self.student(inputs, data_samples, mode='loss')
        return {f'student.{k}': v for k, v in losses.items()} if self.calculate_student_loss else {}

    def compute_losses(self, inputs: torch.Tensor, data_samples: Optional[list]) -> Dict[str, torch.Tensor]:
        """Method losses from the records; keys start with ``distill.`` (scaled) or ``aux.`` (not scaled)."""
        raise NotImplementedError

    def clear_records(self) -> None:
        self.student_recorders.clear()
        if self.teacher_recorders is not None:
            self.teacher_recorders.clear()

    def set_distill_loss_scale(self, value: float) -> None:
        """Called by :class:`~mmext.engine.DistillLossWeightHook`; the value is saved in checkpoints."""
        self.distill_loss_scale.fill_(float(value))

    # ------------------------------------------------------------------ gradient clipping of distill modules
    @staticmethod
    def _check_grad_clip(cfg: Optional[dict]) -> Optional[dict]:
        if cfg is None:
            return None
        cfg = dict(cfg)
        unknown = set(cfg) - {'modules', 'max_norm', 'norm_type'}
        if unknown or not cfg.get('modules') or cfg.get('max_norm') is None:
            raise KeyError(f'module_grad_clip: expected dict(modules=[names], max_norm=float, norm_type=2), got '
                           f'{cfg}')
        if isinstance(cfg['modules'], str):
            cfg['modules'] = [cfg['modules']]
        cfg.setdefault('norm_type', 2)
        return cfg

    def _grad_clip_parameters(self) -> List[nn.Parameter]:
        children = dict(self.named_children())
        params = []
        for name in self.module_grad_clip['modules']:
            if name not in children or name == 'student':
                raise KeyError(f'module_grad_clip.modules: {name!r} is not a distill module of '
                               f'{type(self).__name__}; have {sorted(k for k in children if k != "student")}')
            params += [p for p in children[name].parameters() if p.requires_grad]
        return params

    def attach_module_grad_clip(self, optimizer: torch.optim.Optimizer) -> None:
        """Register the ``module_grad_clip`` clipping as a pre-hook of ``optimizer.step`` (once per optimizer).

        Being a step pre-hook, it sees unscaled gradients under AMP, the all-reduced ones under DDP, and runs once
        per accumulated step. Called by :meth:`train_step` and by :class:`~mmext.engine.ModuleGradClipHook` (which
        model wrappers need, since they bypass this model's ``train_step``).
        """
        if self.module_grad_clip is None or getattr(optimizer, '_mmext_module_grad_clip', None) is self:
            return
        params = self._grad_clip_parameters()
        cfg = self.module_grad_clip

        def clip(opt, args, kwargs):
            torch.nn.utils.clip_grad_norm_(params, cfg['max_norm'], cfg['norm_type'])

        optimizer.register_step_pre_hook(clip)
        optimizer._mmext_module_grad_clip = self
        self._grad_clip_attached = True

    def _check_grad_clip_attached(self) -> None:
        """A distributed training step without the clipping hook would silently train unclipped: refuse it."""
        if (self.training and self.module_grad_clip is not None and not self._grad_clip_attached
                and torch.distributed.is_available() and torch.distributed.is_initialized()):
            raise RuntimeError(f'{type(self).__name__}: module_grad_clip={self.module_grad_clip} is set, but no '
                               f'optimizer clips it: a distributed model wrapper does not call this model\'s '
                               f"train_step, so add custom_hooks=[dict(type='ModuleGradClipHook')] to the config")

    def train_step(self, data, optim_wrapper) -> Dict[str, torch.Tensor]:
        """mmengine's train step, after attaching ``module_grad_clip`` to the optimizer (see
        :meth:`attach_module_grad_clip`)."""
        self.attach_module_grad_clip(optim_wrapper.optimizer)
        return super().train_step(data, optim_wrapper)

    # ------------------------------------------------------------------ checkpoints and export
    def _accept_plain_student_checkpoint(self, state_dict, prefix, *args, **kwargs) -> None:
        """``load_from`` a plain student checkpoint: map its un-prefixed keys into ``student.``."""
        own = set(self.student.state_dict())
        if not state_dict or any(k.startswith(prefix + 'student.') for k in state_dict):
            return
        plain = [k for k in list(state_dict) if k.startswith(prefix) and k[len(prefix):] in own]
        if plain and len(plain) * 2 >= len(own):
            for k in plain:
                state_dict[prefix + 'student.' + k[len(prefix):]] = state_dict.pop(k)

    def export_state_dict(self, network: str = 'student') -> Dict[str, torch.Tensor]:
        """The un-prefixed state dict of ``network`` (default the student), loadable by its own config.

        Auxiliary branches, connectors and the teacher are dropped. Subclasses fold re-parameterisable modules.
        """
        module = getattr(self, network, None)
        if network.startswith('_') or not isinstance(module, nn.Module) or network not in dict(self.named_children()):
            raise ValueError(f'export: network must name a trained sub-network of {type(self).__name__} '
                             f'(e.g. "student"), got {network!r}')
        return {k: v.detach().clone() for k, v in module.state_dict().items()}

    def remove_hooks(self) -> None:
        """Detach every forward hook this distiller put on the student and teacher."""
        self.student_recorders.remove()
        if self.teacher_recorders is not None:
            self.teacher_recorders.remove()
