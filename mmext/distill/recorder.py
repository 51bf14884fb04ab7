"""Feature recorders: forward hooks on named submodules whose handles are kept and removed.

Unlike mmrazor's recorders, a :class:`FeatureRecorder` keeps its hook handle (``remove()`` detaches it), records
only inside :meth:`RecorderGroup.recording` (validation keeps no tensors alive), is cleared right after each
distillation step, and detects a recorded tensor that a later in-place op overwrote (``_version`` check) instead
of returning clobbered values silently.
"""
import weakref
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional

import torch
from torch import nn

__all__ = ['FeatureRecorder', 'RecorderGroup']


class FeatureRecorder:
    """Records the output of ``model.<source>`` on every forward call while recording is on.

    Args:
        model (nn.Module): The model holding the submodule.
        source (str): Dotted path of the submodule, e.g. ``'backbone.layer4'`` or ``'neck'``.
        index (int, optional): Pick ``output[index]`` when the module returns a tuple or list (an FPN level, a
            backbone stage). Defaults to None (the whole output).
        detach (bool): Detach the recorded tensor (teacher side). Defaults to False.
        clone (bool): Clone the recorded tensor, for modules whose output is later modified in place.
            Defaults to False.
    """

    def __init__(self, model: nn.Module, source: str, index: Optional[int] = None, detach: bool = False,
                 clone: bool = False) -> None:
        try:
            module = model.get_submodule(source)
        except AttributeError as exc:
            names = [n for n, _ in model.named_children()]
            raise KeyError(f'recorder source {source!r} is not a submodule of {type(model).__name__} '
                           f'(top-level children: {names})') from exc
        self.source = source
        self.index = index
        self.detach = detach
        self.clone = clone
        self.enabled = False
        self.data: List[torch.Tensor] = []
        self._versions: List[int] = []
        self.handle = module.register_forward_hook(self._hook)

    def _hook(self, module: nn.Module, args, output) -> None:
        if not self.enabled:
            return
        if self.index is not None:
            if not isinstance(output, (tuple, list)):
                raise TypeError(f'recorder {self.source!r}: index={self.index} needs a tuple/list output, got '
                                f'{type(output).__name__}')
            output = output[self.index]
        if not isinstance(output, torch.Tensor):
            raise TypeError(f'recorder {self.source!r}: expected a tensor output, got {type(output).__name__}; '
                            f'set `index` to pick one element of a tuple output')
        if self.detach:
            output = output.detach()
        if self.clone:
            output = output.clone()
        self.data.append(output)
        self._versions.append(output._version)

    def get(self, call: int = -1) -> torch.Tensor:
        """The output of the ``call``-th forward call of this step (default: the last one)."""
        if not self.data:
            raise RuntimeError(f'recorder {self.source!r} recorded nothing in this step; is the module used in '
                               f'the forward that ran?')
        tensor, version = self.data[call], self._versions[call]
        if tensor._version != version:
            raise RuntimeError(f'recorder {self.source!r}: the recorded tensor was modified in place after it '
                               f'was recorded; construct the recorder with clone=True')
        return tensor

    def clear(self) -> None:
        self.data.clear()
        self._versions.clear()

    def remove(self) -> None:
        """Detach the hook and drop what was recorded."""
        self.clear()
        self.handle.remove()


class RecorderGroup:
    """Named recorders on one model, switched on together.

    Args:
        model (nn.Module): The model the recorders hook into.
        sources (dict): ``name -> dict(source=..., index=..., clone=...)`` (or ``name -> 'dotted.path'``).
        detach (bool): Detach every record (the teacher side). Defaults to False.
    """

    def __init__(self, model: nn.Module, sources: Dict[str, object], detach: bool = False) -> None:
        # a weak reference: a deep copy of the distiller (mmengine's EMA hook) must not copy the (teacher) model
        self._model = weakref.ref(model)
        self.detach = detach
        self.recorders: Dict[str, FeatureRecorder] = {}
        for name, spec in sources.items():
            self.add(name, spec)

    def add(self, name: str, spec: object) -> None:
        """Add a recorder ``name`` from ``dict(source=..., index=..., clone=...)`` or a dotted path."""
        if name in self.recorders:
            raise KeyError(f'recorder {name!r} exists already')
        spec = dict(source=spec) if isinstance(spec, str) else dict(spec)
        if 'source' not in spec:
            raise KeyError(f'recorder {name!r}: needs `source` (a dotted module path), got {spec}')
        model = self._model()
        if model is None:
            raise RuntimeError(f'recorder {name!r}: the model of this RecorderGroup no longer exists')
        self.recorders[name] = FeatureRecorder(model, detach=self.detach, **spec)

    def __getitem__(self, name: str) -> torch.Tensor:
        if name not in self.recorders:
            raise KeyError(f'no recorder named {name!r}; have {sorted(self.recorders)}')
        return self.recorders[name].get()

    def __len__(self) -> int:
        return len(self.recorders)

    @contextmanager
    def recording(self) -> Iterator['RecorderGroup']:
        """Record inside the block; records are kept until :meth:`clear`."""
        for rec in self.recorders.values():
            rec.clear()
            rec.enabled = True
        try:
            yield self
        finally:
            for rec in self.recorders.values():
                rec.enabled = False

    def clear(self) -> None:
        for rec in self.recorders.values():
            rec.clear()

    def remove(self) -> None:
        for rec in self.recorders.values():
            rec.remove()
        self.recorders.clear()
