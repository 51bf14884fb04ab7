"""The one allow-list checkpoint loader, and the explicit way to trust a file that needs more.

Every checkpoint that mmext, mmengine, mmdet, mmseg, mmpretrain or torch.hub load in a process that imported mmext
ends in :func:`safe_load`: ``torch.load(weights_only=True)`` with an explicit allow-list of the types mmengine
stores (numpy arrays, scalars and dtypes, :class:`~mmengine.logging.HistoryBuffer`), whatever
``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` says. :mod:`mmext.utils.checkpoint_paths` lists the code paths that are
routed here and how. README section "Checkpoints are loaded safely" is the user-facing description.

The way out for a file the user trusts (never a global "unsafe" switch):

- ``MMEXT_TRUSTED_CHECKPOINTS``: paths (separated by ``os.pathsep``) of files that may hold any object; each is
  compared by its real path and loaded with full unpickling, with a warning naming it;
- ``MMEXT_CHECKPOINT_ALLOWED_GLOBALS``: comma-separated ``module.QualName`` globals added to the allow-list;
- the same from a config: ``checkpoint_safety = dict(trusted_files=[...], allowed_globals=[...])``
  (``tools/train.py`` / ``tools/test.py`` apply it), or :func:`trust_checkpoints` from Python.
"""
import functools
import importlib
import logging
import os
import os.path as osp
import pickle
import re
import zipfile
from typing import Any, Iterable, List, Optional, Sequence, Set
from urllib.parse import urlparse

import torch

__all__ = [
    'CheckpointSafetyError', 'mmengine_safe_globals', 'safe_load', 'safe_load_url', 'trust_checkpoints',
    'load_release_checkpoint', 'apply_checkpoint_safety_cfg',
    'TRUSTED_ENV', 'ALLOWED_GLOBALS_ENV', 'install_safe_checkpoint_loading'
]

TRUSTED_ENV = 'MMEXT_TRUSTED_CHECKPOINTS'
ALLOWED_GLOBALS_ENV = 'MMEXT_CHECKPOINT_ALLOWED_GLOBALS'
_logger = logging.getLogger('mmext')
_TRUSTED: Set[str] = set()
_EXTRA_GLOBALS: List[str] = []


class CheckpointSafetyError(pickle.UnpicklingError):
    """A checkpoint holds a Python object outside mmext's allow-list; nothing from it was executed."""


@functools.lru_cache(maxsize=1)
def mmengine_safe_globals() -> List[Any]:
    """The allow-list: the non-tensor types that mmengine's Runner writes into checkpoints.

    ``message_hub`` holds :class:`mmengine.logging.HistoryBuffer` objects whose state is numpy arrays;
    ``meta`` and hooks' state can hold numpy scalars and arrays. Tensors, dicts, lists, tuples, OrderedDict,
    strings and numbers are allowed by torch itself.
    """
    import numpy as np
    allowed: List[Any] = [np.ndarray, np.dtype]
    try:  # numpy >= 2
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core.multiarray import _reconstruct, scalar
    allowed += [_reconstruct, scalar]
    # numpy < 2 pickles a dtype through numpy.dtype; numpy >= 2 through its concrete DType classes
    if hasattr(np, 'dtypes'):
        allowed += [getattr(np.dtypes, n) for n in dir(np.dtypes) if n.endswith('DType') and
                    n not in ('ObjectDType', 'VoidDType') and isinstance(getattr(np.dtypes, n), type)]
    from mmengine.logging import HistoryBuffer
    allowed.append(HistoryBuffer)
    # a HistoryBuffer pickles its statistics methods as getattr(HistoryBuffer, 'min'): map that one global name to a
    # getattr that resolves nothing else, instead of allowing builtins.getattr on every allowed object
    allowed.append((_history_buffer_getattr, 'builtins.getattr'))
    return allowed


def _history_buffer_getattr(obj: Any, name: str) -> Any:
    from mmengine.logging import HistoryBuffer
    HistoryBuffer()  # mmengine registers the default statistics (min, max, current, mean) on first instantiation
    if obj is HistoryBuffer and name in HistoryBuffer._statistics_methods:
        return getattr(obj, name)
    raise pickle.UnpicklingError(f'getattr({obj!r}, {name!r}) is not allowed in a checkpoint: only '
                                 f'HistoryBuffer statistics methods {sorted(HistoryBuffer._statistics_methods)} are')


def trust_checkpoints(files: Iterable[str] = (), allowed_globals: Iterable[str] = ()) -> None:
    """Trust these files (full unpickling) and/or allow these extra globals, for this process.

    Args:
        files: Checkpoint paths whose content the user vouches for.
        allowed_globals: ``module.QualName`` of each extra type or function to allow in every checkpoint.
    """
    _TRUSTED.update(osp.realpath(osp.expanduser(f)) for f in files)
    _EXTRA_GLOBALS.extend(g for g in allowed_globals if g not in _EXTRA_GLOBALS)


def _trusted_files() -> Set[str]:
    env = [p for p in os.environ.get(TRUSTED_ENV, '').split(os.pathsep) if p]
    return _TRUSTED | {osp.realpath(osp.expanduser(p)) for p in env}


def _resolve_global(name: str) -> Any:
    module, _, qualname = name.rpartition('.')
    while module:
        try:
            obj: Any = importlib.import_module(module)
            for part in qualname.split('.'):
                obj = getattr(obj, part)
            return obj
        except (ImportError, AttributeError):
            module, _, head = module.rpartition('.')
            qualname = f'{head}.{qualname}'
    raise ValueError(f'{ALLOWED_GLOBALS_ENV} / checkpoint_safety.allowed_globals: cannot import {name!r}; '
                     f'expected "module.QualName", e.g. "argparse.Namespace"')


def _extra_globals() -> List[Any]:
    names = _EXTRA_GLOBALS + [g.strip() for g in os.environ.get(ALLOWED_GLOBALS_ENV, '').split(',') if g.strip()]
    return [_resolve_global(n) for n in names]


def safe_load(f: Any, map_location: Any = None, extra_globals: Sequence[Any] = ()) -> Any:
    """``torch.load`` with ``weights_only=True`` and mmengine's allow-list (plus ``extra_globals``).

    Args:
        f: A path or a file-like object.
        map_location: As in :func:`torch.load`.
        extra_globals: More types to allow for this call (e.g. a converter's release layout).

    Raises:
        CheckpointSafetyError: The file needs a type outside the allow-list (for example a pickled callable); the
            message names it and the options that trust it. Nothing from the file was executed.
    """
    name = f if isinstance(f, (str, os.PathLike)) else getattr(f, 'name', '<file object>')
    if isinstance(name, (str, os.PathLike)) and osp.realpath(str(name)) in _trusted_files():
        _logger.warning(f'mmext: loading {name} with full unpickling: it is listed as trusted ({TRUSTED_ENV} or '
                        f'checkpoint_safety.trusted_files)')
        return torch.load(f, map_location=map_location, weights_only=False)
    try:
        with torch.serialization.safe_globals(mmengine_safe_globals() + list(extra_globals) + _extra_globals()):
            return torch.load(f, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        refused = _refused_global(str(exc))
        raise CheckpointSafetyError(
            f'Refused to load checkpoint {name}: it contains a Python object outside the allow-list of types '
            f'mmengine stores, so loading it could execute code. Nothing was executed. The refused object: '
            f'{refused}. If you trust this file, name it in the environment variable {TRUSTED_ENV} (or in the '
            f'config key checkpoint_safety.trusted_files); to allow only that type, add its "module.QualName" to '
            f'{ALLOWED_GLOBALS_ENV} (or checkpoint_safety.allowed_globals). A release of the original authors is '
            f'read by its converter in tools/model_converters/. See the README section "Checkpoints are loaded '
            f'safely".') from exc


def _refused_global(message: str) -> str:
    """What torch's long weights_only error names as refused, without its advice."""
    m = re.search(r'GLOBAL \S+', message)
    if m:
        return m.group(0).rstrip('.,')
    for line in message.splitlines():
        if any(k in line for k in ('unrecognized function', 'not allowed', 'Unsupported')):
            return line.strip().split('. ')[0]
    return message.splitlines()[-1].strip() if message else 'unknown'


def load_release_checkpoint(path: str) -> Any:
    """Load a checkpoint written by an original release's training script, for a converter.

    Besides mmengine's allow-list this allows :class:`argparse.Namespace`, the ``args`` entry of ConvNeXt/timm-style
    scripts (KernelWarehouse): unpickling a Namespace only creates one and sets its attribute dict, and every value
    in it goes through the same restricted unpickler, so a callable hidden in an argument is still refused. The
    PyTorch-ImageNet-example layout (``epoch``, ``arch``, ``state_dict``, ``best_acc1`` tensor, ``optimizer``) and
    the ``scaler`` / ``optimizer`` / ``model_ema`` entries need nothing more. Converters keep only the tensors.
    """
    import argparse
    return safe_load(path, map_location='cpu', extra_globals=[argparse.Namespace])


def apply_checkpoint_safety_cfg(cfg: Any) -> None:
    """Apply a config's ``checkpoint_safety = dict(trusted_files=[...], allowed_globals=[...])``, if any."""
    opts = cfg.get('checkpoint_safety') if hasattr(cfg, 'get') else None
    if not opts:
        return
    unknown = set(opts) - {'trusted_files', 'allowed_globals'}
    if unknown:
        raise KeyError(f'checkpoint_safety: unknown keys {sorted(unknown)}; expected trusted_files and/or '
                       f'allowed_globals')
    for key in ('trusted_files', 'allowed_globals'):
        if isinstance(opts.get(key, []), str):
            raise TypeError(f'checkpoint_safety.{key} must be a list of strings, got the string {opts[key]!r}')
    for name in opts.get('allowed_globals', []):
        _resolve_global(name)  # a typo is an error now, not at the first load
    trust_checkpoints(opts.get('trusted_files', []), opts.get('allowed_globals', []))


def safe_load_url(url: str, model_dir: Optional[str] = None, map_location: Any = None, progress: bool = True,
                  check_hash: bool = False, file_name: Optional[str] = None, weights_only: bool = True,
                  **_ignored: Any) -> Any:
    """:func:`torch.hub.load_state_dict_from_url` that ends in :func:`safe_load` (``weights_only`` is ignored).

    Downloads into ``model_dir`` (default ``<torch hub dir>/checkpoints``) unless the file is already cached, then
    loads the cached file (or the single file of a legacy zip) through the allow-list.
    """
    from torch.hub import HASH_REGEX, download_url_to_file, get_dir
    model_dir = model_dir or osp.join(get_dir(), 'checkpoints')
    os.makedirs(model_dir, exist_ok=True)
    cached = osp.join(model_dir, file_name or osp.basename(urlparse(url).path))
    if not osp.exists(cached):
        match = HASH_REGEX.search(osp.basename(cached)) if check_hash else None
        download_url_to_file(url, cached, match.group(1) if match else None, progress=progress)
    if zipfile.is_zipfile(cached):
        with zipfile.ZipFile(cached) as zf:
            members = zf.infolist()
            if len(members) == 1 and not members[0].is_dir():  # the pre-1.6 format torch.hub still accepts
                zf.extractall(model_dir)
                cached = osp.join(model_dir, members[0].filename)
    return safe_load(cached, map_location=map_location)


def install_safe_checkpoint_loading() -> bool:
    """Route every known checkpoint path through :func:`safe_load` (see :mod:`mmext.utils.checkpoint_paths`)."""
    from .checkpoint_paths import install
    return install()
