"""Safe checkpoint loading for mmengine 0.10.x on torch >= 2.6.

mmengine 0.10.7 calls ``torch.load`` without ``weights_only``. Since torch 2.6 that means ``weights_only=True``
with no allow-list, so resuming a run fails: mmengine's checkpoints hold its ``HistoryBuffer`` and numpy arrays
(see ``shared/docs/environment.md``). The usual workaround, ``weights_only=False``, unpickles arbitrary objects:
a crafted checkpoint then runs code. mmext instead keeps ``weights_only=True`` and allows exactly the types that
mmengine itself stores, nothing else.

:func:`install_safe_checkpoint_loading` swaps mmengine's loaders for local paths and http(s) URLs (used by
``load_from``, ``--resume``, ``init_cfg=dict(type='Pretrained')`` and ``tools/test.py``) for :func:`safe_load`.
It runs on ``import mmext``.
"""
import functools
import os
import os.path as osp
import pickle
from typing import Any, List, Optional

import torch

__all__ = ['CheckpointSafetyError', 'mmengine_safe_globals', 'safe_load', 'install_safe_checkpoint_loading']


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
        allowed += [_reconstruct, scalar]
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


def safe_load(f: Any, map_location: Any = None) -> Any:
    """``torch.load`` with ``weights_only=True`` and mmengine's allow-list.

    Args:
        f: A path or a file-like object.
        map_location: As in :func:`torch.load`.

    Raises:
        CheckpointSafetyError: The file needs a type outside the allow-list (for example a pickled callable); the
            message names it. Nothing from the file was executed.
    """
    name = f if isinstance(f, (str, os.PathLike)) else getattr(f, 'name', '<file object>')
    try:
        with torch.serialization.safe_globals(mmengine_safe_globals()):
            return torch.load(f, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        raise CheckpointSafetyError(
            f'Refused to load checkpoint {name}: it contains a Python object outside the allow-list of types '
            f'mmengine stores, so loading it could execute code. Nothing was executed. The refused object: '
            f'{_refused_global(str(exc))}. If the file comes from the original authors, convert it with '
            f'tools/model_converters/ (they load weights only).') from exc


def _refused_global(message: str) -> str:
    """The line of torch's long weights_only error that names what was refused."""
    for line in message.splitlines():
        if any(k in line for k in ('GLOBAL', 'unrecognized function', 'not allowed', 'Unsupported')):
            return line.strip().strip('.')
    return message.splitlines()[0] if message else 'unknown'


def _load_from_local(filename: str, map_location: Any = None) -> Any:
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    return safe_load(filename, map_location=map_location)


def _load_from_http(filename: str, map_location: Any = None, model_dir: Optional[str] = None,
                    progress: bool = True) -> Any:
    from mmengine.dist import get_dist_info
    from torch.hub import download_url_to_file, get_dir
    model_dir = model_dir or osp.join(get_dir(), 'checkpoints')
    os.makedirs(model_dir, exist_ok=True)
    cached = osp.join(model_dir, osp.basename(filename.split('?')[0]))
    rank, world_size = get_dist_info()
    if rank == 0 and not osp.exists(cached):
        download_url_to_file(filename, cached, progress=progress)
    if world_size > 1:
        torch.distributed.barrier()
        if rank > 0 and not osp.exists(cached):
            download_url_to_file(filename, cached, progress=progress)
    return safe_load(cached, map_location=map_location)


_INSTALLED = False


def install_safe_checkpoint_loading() -> bool:
    """Make mmengine load local and http(s) checkpoints through :func:`safe_load`. Idempotent.

    Returns:
        bool: True when installed; False on torch builds without ``torch.serialization.safe_globals`` (< 2.5),
        where mmengine's loaders are left as they are.
    """
    global _INSTALLED
    if _INSTALLED:
        return True
    if not hasattr(torch.serialization, 'safe_globals'):
        return False
    from mmengine.runner.checkpoint import CheckpointLoader
    loaders: List[tuple] = [('', _load_from_local), (('http://', 'https://'), _load_from_http)]
    for prefixes, loader in loaders:
        # mmengine's own API for replacing a scheme's loader: force replaces mmengine's unsafe default
        CheckpointLoader.register_scheme(prefixes, loader, force=True)
    _INSTALLED = True
    return True
