"""The feature transform (FT) of NORM ("NORM: Knowledge Distillation via N-to-One Representation Matching",
ICLR 2023, arXiv:2305.13803), with its exact folding into a following linear classifier."""
from typing import Tuple

import torch
from mmengine.model import BaseModule
from torch import nn

from mmext.registry import register
from mmext.utils.input_checks import check_in_channels

__all__ = ['NORMFeatureTransform']


def _bn_affine(bn: nn.BatchNorm2d) -> Tuple[torch.Tensor, torch.Tensor]:
    """Eval-mode BN as ``a * z + c``."""
    a = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    return a, bn.bias - a * bn.running_mean


@register('MODELS')
class NORMFeatureTransform(BaseModule):
    """``x + BN2(Conv1x1_2(BN1(Conv1x1_1(x))))`` with ``Conv1x1_1: C_s -> N*C_t`` and ``Conv1x1_2: N*C_t -> C_s``.

    No activation anywhere (that is what makes it foldable). ``expand(x)`` gives ``BN1(Conv1x1_1(x))``, the
    feature the NORM loss splits into N segments. The official code names the two layers ``layer31`` and
    ``layer32`` and has no bias in the convs.

    Args:
        in_channels (int): Student channels ``C_s``.
        teacher_channels (int): Teacher channels ``C_t``.
        num_segments (int): N. Defaults to 8.
        residual (bool): The paper's default FT adds ``x`` back; ``False`` is its "plain FT". Defaults to True.
    """

    def __init__(self, in_channels: int, teacher_channels: int, num_segments: int = 8, residual: bool = True,
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        for name, value in (('in_channels', in_channels), ('teacher_channels', teacher_channels),
                            ('num_segments', num_segments)):
            if value <= 0:
                raise ValueError(f'NORMFeatureTransform: {name} must be > 0, got {value}')
        self.in_channels = in_channels
        self.num_segments = num_segments
        self.residual = residual
        expanded = num_segments * teacher_channels
        self.expand_conv = nn.Conv2d(in_channels, expanded, 1, bias=False)
        self.expand_bn = nn.BatchNorm2d(expanded)
        self.reduce_conv = nn.Conv2d(expanded, in_channels, 1, bias=False)
        self.reduce_bn = nn.BatchNorm2d(in_channels)

    def expand(self, x: torch.Tensor) -> torch.Tensor:
        return self.expand_bn(self.expand_conv(x))

    def reduce(self, expanded: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        out = self.reduce_bn(self.reduce_conv(expanded))
        return x + out if self.residual else out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_in_channels(self, x, self.in_channels)
        return self.reduce(self.expand(x), x)

    @torch.no_grad()
    def as_affine(self) -> Tuple[torch.Tensor, torch.Tensor]:
        """The eval-mode transform as ``M x + d`` per pixel: ``(M, d)`` in float64, ``M`` of ``C_s x C_s``.

        ``M = [I] + diag(a2) W2 diag(a1) W1`` and ``d = diag(a2) W2 c1 + c2`` for BN_k(z) = a_k z + c_k.
        """
        w1 = self.expand_conv.weight.double().flatten(1)
        w2 = self.reduce_conv.weight.double().flatten(1)
        a1, c1 = (t.double() for t in _bn_affine(self.expand_bn))
        a2, c2 = (t.double() for t in _bn_affine(self.reduce_bn))
        m = (a2[:, None] * w2) @ (a1[:, None] * w1)
        if self.residual:
            m = m + torch.eye(self.in_channels, dtype=m.dtype, device=m.device)
        d = a2 * (w2 @ c1) + c2
        return m, d

    @torch.no_grad()
    def fold_into_linear(self, fc: nn.Linear) -> nn.Linear:
        """A new ``nn.Linear`` equal to ``fc(GAP(FT(x)))`` on ``GAP(x)``: ``W' = W M``, ``b' = W d + b``.

        Exact in eval mode because everything between FT and ``fc`` (global average pooling) is linear.
        """
        if not isinstance(fc, nn.Linear) or fc.in_features != self.in_channels:
            raise ValueError(f'fold_into_linear: fc must be an nn.Linear with in_features={self.in_channels}, '
                             f'got {fc}')
        m, d = self.as_affine()
        w = fc.weight.double()
        b = fc.bias.double() if fc.bias is not None else torch.zeros(fc.out_features, dtype=torch.float64,
                                                                     device=w.device)
        folded = nn.Linear(fc.in_features, fc.out_features, bias=True).to(fc.weight.device)
        folded.weight.copy_((w @ m).to(fc.weight.dtype))
        folded.bias.copy_((w @ d + b).to(fc.weight.dtype))
        return folded
