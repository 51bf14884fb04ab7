"""``frozen_stages`` / ``norm_eval`` behaviour shared by mmext's backbones, as mmdet's ResNet defines it."""
from typing import List

import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm

__all__ = ['FrozenStagesMixin']


class FrozenStagesMixin:
    """Keeps the modules of frozen stages in eval mode without gradients, and BatchNorm in eval mode when
    ``norm_eval`` is set, whenever the backbone is put in train mode.

    Subclasses (listed before ``BaseModule`` in the bases) implement :meth:`frozen_modules` and set
    ``self.norm_eval`` if they take that argument.
    """

    norm_eval: bool = False

    def frozen_modules(self) -> List[nn.Module]:
        """The modules of the frozen stages (stem first); empty when nothing is frozen."""
        raise NotImplementedError

    def _freeze_stages(self) -> None:
        for m in self.frozen_modules():
            m.eval()
            for p in m.parameters():
                p.requires_grad = False

    def train(self, mode: bool = True):
        """Set train mode, keeping frozen stages and (with ``norm_eval``) BatchNorm layers in eval mode."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self
