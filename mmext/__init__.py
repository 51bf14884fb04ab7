"""mmext: an OpenMMLab 2.x plugin for mmdet, mmsegmentation and mmpretrain.

``import mmext`` (or ``custom_imports=dict(imports=['mmext'])`` in a config) registers every mmext component into
the registries of each installed downstream package and makes mmengine's checkpoint loading safe on torch >= 2.6
(``weights_only=True`` with an explicit allow-list, see :mod:`mmext.utils.checkpoint`).

Layers (data flows one way): ``ops -> backbones -> cls / det / seg / distill``; ``engine`` holds hooks. The
task-specific subpackages are imported only when their downstream package is installed.
"""
from .registry import available_scopes, register, registered_components
from .utils.checkpoint import install_safe_checkpoint_loading
from .version import __version__

install_safe_checkpoint_loading()

# noqa: E402 - registration happens on import, after the safe loaders are in place
from . import backbones, datasets, engine, ops  # noqa: E402,F401
if 'mmpretrain' in available_scopes():
    from . import cls  # noqa: E402,F401
if 'mmdet' in available_scopes():
    from . import det  # noqa: E402,F401
if 'mmseg' in available_scopes():
    from . import seg  # noqa: E402,F401
from . import distill  # noqa: E402,F401

__all__ = ['__version__', 'available_scopes', 'register', 'registered_components']
