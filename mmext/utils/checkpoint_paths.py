"""Every path by which the installed stack turns a user-given name into ``torch.load``, routed to :func:`safe_load`.

Found by reading the sources of mmengine 0.10.7, mmcv 2.1.0, mmdet 3.3.0, mmseg 1.2.2, mmpretrain 1.2.0, torch 2.14
(``torch.hub``, ``torch.utils.model_zoo``) and torchvision 0.29 for ``torch.load(``, ``load_url(`` and
``load_state_dict_from_url(`` (``tests/test_utils/test_checkpoint_paths.py`` re-scans them and fails on a call site
missing from :data:`CALL_SITES`):

1. ``mmengine.runner.checkpoint``: the ``CheckpointLoader`` schemes, reached by ``load_from``, ``--resume``,
   ``init_cfg=dict(type='Pretrained')``, ``load_checkpoint``, ``_load_checkpoint`` and the backbones of mmdet /
   mmseg / mmpretrain that call ``CheckpointLoader.load_checkpoint`` themselves: local files, ``http(s)://``,
   ``torchvision://`` / ``modelzoo://``, ``open-mmlab://`` / ``openmmlab://`` (URL or a file under mmengine's
   home), ``mmcls://``, ``pavi://``, ``s3://`` / ``petrel://``. Each scheme is re-registered with a loader of this
   module, and the module-level functions ``load_from_*`` (which call each other directly, e.g.
   ``load_from_torchvision`` -> ``load_from_http``) are replaced by the same loaders.
2. ``torch.hub.load_state_dict_from_url`` (default ``weights_only=False``), its alias
   ``torch.utils.model_zoo.load_url``, and every module-level copy of it already imported
   (``mmengine.utils.dl_utils.load_url``, ``mmengine.runner.checkpoint.load_url``,
   ``torchvision._internally_replaced_utils.load_state_dict_from_url``, ``torchvision.models._api``, ...):
   replaced by :func:`~mmext.utils.checkpoint.safe_load_url`. Modules imported later bind the replacement.
3. Bare ``torch.load`` on a config-given path in mmpretrain (:data:`BARE_TORCH_LOAD_MODULES`: SwAV's queue,
   retrieval prototypes, the VQ codebook, RAM's CLIP weights): those modules' ``torch`` global is a view of torch
   whose ``load`` is :func:`safe_load`; applied on install and, for modules imported later, on their import.

Not checkpoint paths, left alone: ``torch.hub.load`` (runs a repository's ``hubconf.py`` by design),
``pickle.load`` of result / dataset files (``mmengine.load('*.pkl')``, mmpretrain's CIFAR reader), torchvision's
dataset caches (already ``weights_only=True``).
"""
import importlib.abc
import importlib.util
import io
import logging
import os.path as osp
import sys
import types
from tempfile import TemporaryDirectory
from typing import Any, Dict, Optional

import torch
import torch.hub
import torch.utils.model_zoo

from .checkpoint import safe_load, safe_load_url

__all__ = ['CALL_SITES', 'BARE_TORCH_LOAD_MODULES', 'install']

#: modules that call a bare ``torch.load`` on a user-given path; their ``torch`` global gets a safe ``load``
BARE_TORCH_LOAD_MODULES = (
    'mmpretrain.engine.hooks.swav_hook',
    'mmpretrain.models.retrievers.image2image',
    'mmpretrain.models.utils.vector_quantizer',
    'mmpretrain.apis.multimodal_retrieval',
    'mmpretrain.models.multimodal.ram.openset_utils',
    'mmpretrain.models.multimodal.ram.gradio_demo',
)

#: source file (relative to site-packages) -> how its torch.load / load_url call sites are routed
CALL_SITES: Dict[str, str] = {
    'mmengine/runner/checkpoint.py': 'scheme loaders and load_from_* replaced (1)',
    'mmengine/utils/dl_utils/hub.py': 'load_url replaced (2); its torch < 1.7 branch is not defined on torch 2',
    'torch/hub.py': 'load_state_dict_from_url replaced (2)',
    'torchvision/_internally_replaced_utils.py': 'module-level copy replaced (2)',
    'torchvision/models/_api.py': 'Weights.get_state_dict: module-level copy replaced (2)',
    'torchvision/datasets/imagenet.py': 'dataset meta cache, weights_only=True already',
    'torchvision/datasets/mnist.py': 'dataset cache, weights_only=True already',
    'torchvision/datasets/phototour.py': 'dataset cache, weights_only=True already',
    **{m.replace('.', '/') + '.py': 'safe torch view (3)' for m in BARE_TORCH_LOAD_MODULES},
}


# ---------------------------------------------------------------------------------------------------- schemes (1)
def load_from_local(filename: str, map_location: Any = None) -> Any:
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    return safe_load(filename, map_location=map_location)


def load_from_http(filename: str, map_location: Any = None, model_dir: Optional[str] = None,
                   progress: bool = True) -> Any:
    from mmengine.dist import get_dist_info
    rank, world_size = get_dist_info()
    if rank == 0:
        checkpoint = safe_load_url(filename, model_dir=model_dir, map_location=map_location, progress=progress)
    if world_size > 1:
        torch.distributed.barrier()
        if rank > 0:
            checkpoint = safe_load_url(filename, model_dir=model_dir, map_location=map_location, progress=progress)
    return checkpoint


def load_from_torchvision(filename: str, map_location: Any = None) -> Any:
    from mmengine.runner.checkpoint import get_torchvision_models
    name = filename[len('modelzoo://'):] if filename.startswith('modelzoo://') else filename[len('torchvision://'):]
    urls = get_torchvision_models()
    if name not in urls:
        raise KeyError(f'{filename}: torchvision has no model {name!r}')
    return load_from_http(urls[name], map_location=map_location)


def load_from_openmmlab(filename: str, map_location: Any = None) -> Any:
    from mmengine.runner.checkpoint import _get_mmengine_home, get_deprecated_model_names, get_external_models
    prefix = 'open-mmlab://' if filename.startswith('open-mmlab://') else 'openmmlab://'
    name = filename[len(prefix):]
    name = get_deprecated_model_names().get(name, name)
    url = get_external_models()[name]
    if url.startswith(('http://', 'https://')):
        return load_from_http(url, map_location=map_location)
    return load_from_local(osp.join(_get_mmengine_home(), url), map_location=map_location)


def load_from_mmcls(filename: str, map_location: Any = None) -> Any:
    from mmengine.runner.checkpoint import _process_mmcls_checkpoint, get_mmcls_models
    checkpoint = load_from_http(get_mmcls_models()[filename[len('mmcls://'):]], map_location=map_location)
    return _process_mmcls_checkpoint(checkpoint)


def load_from_pavi(filename: str, map_location: Any = None) -> Any:
    try:
        from pavi import modelcloud
    except ImportError as exc:
        raise ImportError('Please install pavi to load checkpoint from modelcloud.') from exc
    model = modelcloud.get(filename[len('pavi://'):])
    with TemporaryDirectory() as tmp_dir:
        downloaded = osp.join(tmp_dir, model.name)
        model.download(downloaded)
        return safe_load(downloaded, map_location=map_location)


def load_from_ceph(filename: str, map_location: Any = None, backend: str = 'petrel') -> Any:
    from mmengine.fileio import get_file_backend
    file_backend = get_file_backend(filename, backend_args={'backend': backend})
    with io.BytesIO(file_backend.get(filename)) as buffer:
        return safe_load(buffer, map_location=map_location)


_SCHEMES = (('', load_from_local), (('http://', 'https://'), load_from_http), ('pavi://', load_from_pavi),
            ([r'(\S+\:)?s3://', r'(\S+\:)?petrel://'], load_from_ceph),
            (('modelzoo://', 'torchvision://'), load_from_torchvision),
            (('open-mmlab://', 'openmmlab://'), load_from_openmmlab), ('mmcls://', load_from_mmcls))


# ------------------------------------------------------------------------------------------------ bare torch.load (3)
class _SafeTorchView(types.ModuleType):
    """``torch`` with ``load`` = :func:`safe_load`; every other attribute is torch's own."""

    def __init__(self) -> None:
        super().__init__('torch')
        self.load = lambda f, map_location=None, **_: safe_load(f, map_location=map_location)

    def __getattr__(self, name: str) -> Any:
        return getattr(torch, name)


_SAFE_TORCH = _SafeTorchView()


class _PatchOnImport(importlib.abc.MetaPathFinder):
    """Gives the modules of :data:`BARE_TORCH_LOAD_MODULES` the safe torch view right after they are executed."""

    def find_spec(self, fullname, path, target=None):
        if fullname not in BARE_TORCH_LOAD_MODULES:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, 'find_spec'):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None and spec.loader is not None:
                exec_module = spec.loader.exec_module

                def patched(module, _exec=exec_module):
                    _exec(module)
                    module.torch = _SAFE_TORCH
                spec.loader.exec_module = patched
                return spec
        return None


_INSTALLED = False


def install() -> bool:
    """Route all of the above through :func:`safe_load`. Idempotent; a no-op on torch < 2.5 (no ``safe_globals``).

    Returns:
        bool: True when installed.
    """
    global _INSTALLED
    if not hasattr(torch.serialization, 'safe_globals'):
        return False
    if not _INSTALLED:
        from mmengine.runner import checkpoint as mm_ckpt
        for prefixes, loader in _SCHEMES:
            # mmengine's API for replacing a scheme's loader: force replaces its unrestricted default
            mm_ckpt.CheckpointLoader.register_scheme(prefixes, loader, force=True)
            setattr(mm_ckpt, loader.__name__, loader)
        unsafe = {torch.hub.load_state_dict_from_url, torch.utils.model_zoo.load_url}
        torch.hub.load_state_dict_from_url = safe_load_url
        torch.utils.model_zoo.load_url = safe_load_url
        for module in list(sys.modules.values()):  # module-level copies bound before mmext was imported
            for attr, value in list(getattr(module, '__dict__', {}).items()):
                if any(value is u for u in unsafe):
                    setattr(module, attr, safe_load_url)
        sys.meta_path.insert(0, _PatchOnImport())
        _INSTALLED = True
        logging.getLogger('mmext').debug('mmext: checkpoint loading routed through the allow-list')
    for name in BARE_TORCH_LOAD_MODULES:
        if name in sys.modules:
            sys.modules[name].torch = _SAFE_TORCH
    return True
