"""Build the authors' original ODConv / KernelWarehouse models from a local checkout, for side-by-side benchmarks.

"Omni-Dimensional Dynamic Convolution" (ICLR 2022, arXiv 2209.07947, github.com/OSVAI/ODConv) and
"KernelWarehouse: Rethinking the Design of Dynamic Convolution" (ICML 2024, arXiv 2406.07879,
github.com/OSVAI/KernelWarehouse). Nothing of either release is part of mmext: :func:`release_builders` imports
the checkout the user points at (its ``models`` / ``modules`` packages, which both releases name alike, so each
checkout is imported in isolation and its modules are dropped from ``sys.modules`` afterwards).

The KernelWarehouse models import ``timm`` only for ``DropPath``, ``trunc_normal_`` and ``register_model``; when
timm is not installed, a stand-in with those three names is provided while the checkout is imported (``DropPath``
is only built for ``drop_path > 0``, which a benchmark does not use).
"""
import importlib
import os.path as osp
import sys
import types
from typing import Callable, Dict

import torch.nn as nn

__all__ = ['detect_release', 'release_builders']

#: released constructors and arguments timed by the benchmark, per release
RELEASE_MODELS = {
    'odconv': {
        'od_resnet50_1x': ('models.od_resnet', 'od_resnet50', dict(kernel_num=1)),
        'od_resnet50_4x': ('models.od_resnet', 'od_resnet50', dict(kernel_num=4)),
        'od_mobilenetv2_1x': ('models.od_mobilenetv2', 'od_mobilenetv2_100', dict(kernel_num=1)),
    },
    'kernelwarehouse': {
        'kw_resnet50_1x': ('models.kw_resnet', 'kw_resnet50',
                           dict(cell_num_ratio=1, sharing_range=('layer', 'conv'), drop_path_rate=0.0)),
        'kw_mobilenetv2_1x': ('models.kw_mobilenetv2', 'kw_mobilenetv2_100',
                              dict(cell_num_ratio=1, sharing_range=('layer', 'pwconv'))),
    },
}


def detect_release(path: str) -> str:
    """``'odconv'`` or ``'kernelwarehouse'`` from the files of a checkout; a clear error otherwise."""
    if osp.isfile(osp.join(path, 'modules', 'odconv.py')):
        return 'odconv'
    if osp.isfile(osp.join(path, 'modules', 'kernel_warehouse.py')):
        return 'kernelwarehouse'
    raise ValueError(f'--release-path {path!r}: expected a checkout of OSVAI/ODConv (modules/odconv.py) or '
                     f'OSVAI/KernelWarehouse (modules/kernel_warehouse.py)')


class _DropPathStandIn(nn.Module):
    """Only for ``drop_path == 0`` (identity); timm's stochastic depth is not reimplemented here."""

    def __init__(self, drop_prob: float = 0.0) -> None:
        super().__init__()
        if drop_prob > 0:
            raise RuntimeError('timm is not installed: the release stand-in supports drop_path = 0 only')

    def forward(self, x):
        return x


def _timm_stand_in() -> Dict[str, types.ModuleType]:
    timm = types.ModuleType('timm')
    models = types.ModuleType('timm.models')
    layers = types.ModuleType('timm.models.layers')
    registry = types.ModuleType('timm.models.registry')
    layers.DropPath = _DropPathStandIn
    layers.trunc_normal_ = nn.init.trunc_normal_
    registry.register_model = lambda fn: fn
    timm.models, models.layers, models.registry = models, layers, registry
    return {'timm': timm, 'timm.models': models, 'timm.models.layers': layers, 'timm.models.registry': registry}


def release_builders(path: str) -> Dict[str, Callable[[], nn.Module]]:
    """``{benchmark name: constructor}`` of the released models in the checkout at ``path``."""
    kind = detect_release(path)
    path = osp.abspath(path)
    stand_in = {}
    try:
        importlib.import_module('timm')
    except ImportError:
        stand_in = _timm_stand_in()
    own = ('models', 'modules')
    saved = {k: sys.modules.pop(k) for k in list(sys.modules) if k.split('.')[0] in own}
    sys.modules.update(stand_in)
    sys.path.insert(0, path)
    builders = {}
    try:
        for name, (module, fn, kwargs) in RELEASE_MODELS[kind].items():
            ctor = getattr(importlib.import_module(module), fn)
            builders[name] = (lambda c=ctor, kw=kwargs: c(**kw))
    finally:
        sys.path.remove(path)
        for k in list(sys.modules):
            if k.split('.')[0] in own or k in stand_in:
                del sys.modules[k]
        sys.modules.update(saved)
    return builders
