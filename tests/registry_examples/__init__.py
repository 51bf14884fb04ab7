"""A config for every component mmext registers, merged from the modules of this folder.

Each module defines ``EXAMPLES``: registered name -> function(tiny_shapes_root) -> config dict (with ``type``).
Every registered component needs one; ``tests/test_registry.py`` fails otherwise. Add a module per method.
"""
import importlib
import pkgutil
from typing import Callable, Dict

EXAMPLES: Dict[str, Callable[[str], dict]] = {}
for _info in pkgutil.iter_modules(__path__):
    _module = importlib.import_module(f'{__name__}.{_info.name}')
    _overlap = set(EXAMPLES) & set(_module.EXAMPLES)
    if _overlap:
        raise KeyError(f'{_info.name} defines examples for names already defined elsewhere: {sorted(_overlap)}')
    EXAMPLES.update(_module.EXAMPLES)
