"""Config handling shared by ``tools/train.py`` and ``tools/test.py`` for detection, segmentation and
classification configs alike (the config's ``default_scope`` decides which package's components are used)."""
import os.path as osp
from typing import Optional

from mmengine.config import Config

__all__ = ['load_config', 'enable_visualization', 'build_runner', 'setup_cpu_distributed', 'teardown_distributed']

_KNOWN_SCOPES = ('mmdet', 'mmseg', 'mmpretrain')


def load_config(path: str, cfg_options: Optional[dict] = None, work_dir: Optional[str] = None,
                launcher: str = 'none') -> Config:
    """Read a config, merge ``--cfg-options``, set the launcher and the work dir as mmdet's tools do."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file {path!r} does not exist')
    cfg = Config.fromfile(path)
    cfg.launcher = launcher
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    scope = cfg.get('default_scope')
    if scope not in _KNOWN_SCOPES:
        raise ValueError(f'{path}: default_scope must be one of {_KNOWN_SCOPES} so that the model\'s types resolve '
                         f'in the right registry; got {scope!r}. Add e.g. default_scope = "mmdet" to the config.')
    from mmext.utils.checkpoint import apply_checkpoint_safety_cfg
    apply_checkpoint_safety_cfg(cfg)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(path))[0])
    return cfg


def enable_visualization(cfg: Config, show: bool, show_dir: Optional[str], wait_time: float,
                         interval: int = 1) -> Config:
    """Paint test predictions the same way for mmdet, mmseg and mmpretrain configs.

    Every ``interval``-th test image (counted in images; every image by default) is painted with the config's
    visualizer, into ``show_dir`` (a relative path is taken under ``cfg.work_dir``) and/or shown. Detection,
    segmentation and classification all use :class:`~mmext.engine.ShowDirVisualizationHook` (the package's own
    visualization hook is switched off, so nothing is painted twice); one file per image, named like the image.

    Returns:
        Config: ``cfg``, with ``cfg.show_dir`` set to the absolute output directory (or None).
    """
    scope = cfg.get('default_scope')
    if 'visualizer' not in cfg:
        raise KeyError('--show/--show-dir need a visualizer in the config (e.g. mmdet\'s DetLocalVisualizer, '
                       'mmseg\'s SegLocalVisualizer or mmpretrain\'s UniversalVisualizer, as in their '
                       'default_runtime.py)')
    hooks = cfg.setdefault('default_hooks', {})
    if isinstance(interval, bool) or not isinstance(interval, int) or interval < 1:
        raise ValueError(f'--show-interval must be a positive int, got {interval!r}')
    out_dir = None
    if show_dir:
        out_dir = osp.abspath(show_dir if osp.isabs(show_dir) else osp.join(cfg.work_dir, show_dir))
    hook = hooks.get('visualization') or {}
    if hook:  # the package hook's own test drawing (mmseg's: every 50th batch, elsewhere) is switched off
        hook['enable' if scope == 'mmpretrain' else 'draw'] = False
    custom = list(cfg.get('custom_hooks', None) or [])
    custom.append(dict(type='ShowDirVisualizationHook', out_dir=out_dir, interval=interval, show=show,
                       wait_time=wait_time, score_thr=hook.get('score_thr', 0.3)))
    cfg.custom_hooks = custom
    cfg.show_dir = out_dir
    return cfg


def build_runner(cfg: Config):
    """Build the runner named by the config (``runner_type``) or mmengine's default ``Runner``."""
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)


def setup_cpu_distributed(cfg: Config) -> None:
    """Let ``--launcher pytorch`` (``tools/dist_train.sh``) run on machines without CUDA, with the gloo backend.

    mmengine 0.10.7's pytorch launcher calls ``torch.cuda.set_device`` and its DDP wrapper passes ``device_ids``,
    both of which fail for CPU processes. With CUDA available this does nothing.
    """
    import os

    import torch
    import torch.distributed as dist
    if cfg.get('launcher', 'none') == 'none' or torch.cuda.is_available() or dist.is_initialized():
        return
    if cfg.launcher != 'pytorch':
        raise ValueError(f'launcher={cfg.launcher!r} without CUDA is not supported; use --launcher pytorch '
                         f'(tools/dist_train.sh) for CPU processes')
    dist.init_process_group(backend='gloo', rank=int(os.environ['RANK']), world_size=int(os.environ['WORLD_SIZE']))
    cfg.model_wrapper_cfg = dict(cfg.get('model_wrapper_cfg', None) or dict(type='MMDistributedDataParallel'),
                                 device_ids=None)
    cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'


def teardown_distributed() -> None:
    """End a distributed run cleanly: wait for every rank, then destroy the process group (no-op otherwise).

    mmengine leaves the group alive until the interpreter exits; a gloo group torn down by the exit itself can
    abort a rank ("terminate called without an active exception", SIGABRT) after all the work is done, which
    turns a finished ``tools/dist_train.sh`` run into a failed one.
    """
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
