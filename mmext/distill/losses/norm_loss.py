"""The N-to-one representation matching loss of NORM ("NORM: Knowledge Distillation via N-to-One
Representation Matching", ICLR 2023, arXiv:2305.13803)."""
import torch
import torch.nn.functional as F
from torch import nn

from mmext.registry import register
from .utils import fp32_region

__all__ = ['NORMLoss']


@register('MODELS')
class NORMLoss(nn.Module):
    """``loss_weight * N * MSE_mean(F_se, tile_N(F_t))`` = ``loss_weight * sum_i MSE_mean(F_se^i, F_t)``.

    The student feature expanded by the feature transform, ``(B, N*C_t, H, W)``, is split into N segments of
    ``C_t`` channels; each regresses the whole teacher feature ``(B, C_t, H', W')``. When the spatial sizes
    differ, the larger map is max-pooled to the smaller one (the official code max-pools the teacher on CIFAR
    and the student on ImageNet). Computed in fp32, the teacher detached.

    Args:
        num_segments (int): N, the expansion factor. Defaults to 8 (every released script of the paper).
        loss_weight (float): The paper's alpha (the official ``-b``). Defaults to 1.0.
    """

    def __init__(self, num_segments: int = 8, loss_weight: float = 1.0) -> None:
        super().__init__()
        if num_segments < 1:
            raise ValueError(f'NORMLoss: num_segments must be >= 1, got {num_segments}')
        self.num_segments = num_segments
        self.loss_weight = loss_weight

    def forward(self, expanded: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
        n = self.num_segments
        if expanded.dim() != 4 or teacher.dim() != 4:
            raise ValueError(f'NORMLoss: expected 4-D feature maps, got {tuple(expanded.shape)} and '
                             f'{tuple(teacher.shape)}')
        if expanded.shape[1] != n * teacher.shape[1]:
            raise ValueError(f'NORMLoss: the expanded student feature must have num_segments * teacher channels '
                             f'= {n} * {teacher.shape[1]} channels, got {expanded.shape[1]}')
        with fp32_region(expanded):
            s, t = expanded.float(), teacher.detach().float()
            if s.shape[-2:] != t.shape[-2:]:
                if s.shape[-1] * s.shape[-2] > t.shape[-1] * t.shape[-2]:
                    s = F.adaptive_max_pool2d(s, t.shape[-2:])
                else:
                    t = F.adaptive_max_pool2d(t, s.shape[-2:])
            return self.loss_weight * n * F.mse_loss(s, t.repeat(1, n, 1, 1))
