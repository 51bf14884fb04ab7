"""One helper that registers mmext components into every installed downstream package.

mmengine resolves a plain ``type='X'`` only in the config's ``default_scope`` registry and its parents, never in
a sibling (see ``shared/docs/references/openmmlab.md`` §1). mmext therefore registers each class straight into
the registry node of the downstream packages that need it: task-specific parts into one package, task-agnostic
parts (backbones, hooks, ops) into all three. A downstream package that is not installed is skipped quietly; one
that is installed but fails to import raises an error naming the package and the cause.
"""
import importlib
import importlib.util
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Type

__all__ = [
    'DOWNSTREAM_SCOPES', 'available_scopes', 'get_registry', 'register', 'registered_components'
]

#: downstream scope name -> module holding its registries
DOWNSTREAM_SCOPES: Dict[str, str] = {
    'mmdet': 'mmdet.registry',
    'mmseg': 'mmseg.registry',
    'mmpretrain': 'mmpretrain.registry',
}

# (registry kind, class name, scope) for everything registered through :func:`register`.
_REGISTERED: List[Tuple[str, str, str]] = []
_AVAILABLE: Optional[Tuple[str, ...]] = None


def _import_registry_module(scope: str):
    """Import ``<scope>.registry``; ``None`` when the package is absent, a clear error when it is broken."""
    if scope not in DOWNSTREAM_SCOPES:
        raise ValueError(f'unknown downstream scope {scope!r}; expected one of {sorted(DOWNSTREAM_SCOPES)}')
    if importlib.util.find_spec(scope) is None:
        return None
    try:
        return importlib.import_module(DOWNSTREAM_SCOPES[scope])
    except Exception as exc:  # noqa: BLE001 - re-raised with the package named
        raise ImportError(f'mmext: the installed package {scope!r} failed to import '
                          f'({type(exc).__name__}: {exc}). Fix that installation or uninstall it; '
                          f'see README "Installation".') from exc


def available_scopes() -> Tuple[str, ...]:
    """The downstream scopes whose package is installed and imports cleanly."""
    global _AVAILABLE
    if _AVAILABLE is None:
        _AVAILABLE = tuple(s for s in DOWNSTREAM_SCOPES if _import_registry_module(s) is not None)
    return _AVAILABLE


def get_registry(scope: str, kind: str = 'MODELS'):
    """Return the registry ``kind`` (e.g. ``'MODELS'``, ``'HOOKS'``, ``'DATASETS'``) of a downstream ``scope``."""
    module = _import_registry_module(scope)
    if module is None:
        raise ImportError(f'mmext: {scope!r} is not installed, so its {kind} registry is not available')
    if not hasattr(module, kind):
        raise KeyError(f'{DOWNSTREAM_SCOPES[scope]} has no registry named {kind!r}')
    return getattr(module, kind)


def register(kind: str = 'MODELS',
             scopes: Optional[Sequence[str]] = None,
             name: Optional[str] = None) -> Callable[[Type], Type]:
    """Class decorator: register a class into the ``kind`` registry of each installed downstream scope.

    Args:
        kind (str): Registry name in ``<scope>.registry``. Defaults to ``'MODELS'``.
        scopes (Sequence[str], optional): Downstream scopes to register into. ``None`` means every installed
            one (for task-agnostic components). Scopes whose package is not installed are skipped.
        name (str, optional): Registered name. Defaults to the class name; it must be unique (no ``force``).

    Example:
        >>> @register('MODELS', scopes=['mmdet'])
        ... class MyNeck(BaseModule): ...
    """
    wanted = tuple(DOWNSTREAM_SCOPES) if scopes is None else tuple(scopes)
    for scope in wanted:
        if scope not in DOWNSTREAM_SCOPES:
            raise ValueError(f'register(scopes=...): unknown scope {scope!r}; '
                             f'expected a subset of {sorted(DOWNSTREAM_SCOPES)}')

    def _decorator(cls: Type) -> Type:
        reg_name = name or cls.__name__
        for scope in wanted:
            if scope not in available_scopes():
                continue
            get_registry(scope, kind).register_module(name=reg_name, module=cls)
            _REGISTERED.append((kind, reg_name, scope))
        return cls

    return _decorator


def registered_components(kind: Optional[str] = None,
                          scopes: Optional[Iterable[str]] = None) -> List[Tuple[str, str, str]]:
    """``(kind, name, scope)`` of every component mmext registered, optionally filtered."""
    scopes = None if scopes is None else set(scopes)
    return [r for r in _REGISTERED if (kind is None or r[0] == kind) and (scopes is None or r[2] in scopes)]
