"""The omni-contrastive feature loss of Af-DCD ("Augmentation-free Dense Contrastive Knowledge Distillation for
Efficient Semantic Segmentation", Fan et al., NeurIPS 2023, arXiv:2312.04168)."""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from mmext.registry import register
from .utils import fp32_region

__all__ = ['OmniContrastiveLoss', 'omni_contrastive_tokens']


def omni_contrastive_tokens(x: torch.Tensor, patch_size: Tuple[int, int], num_groups: int) -> torch.Tensor:
    """Split ``(B, C, H, W)`` into tokens ``(B * P, N2 * M, C / M)``: P patches of ``ph x pw`` positions, each
    position cut into ``M`` channel groups; token ``pos * M + group`` (the release's layout)."""
    b, c, h, w = x.shape
    ph, pw = patch_size
    x = x.reshape(b, num_groups, c // num_groups, h // ph, ph, w // pw, pw)
    # -> (B, h/ph, w/pw, ph, pw, M, C/M)
    x = x.permute(0, 3, 5, 4, 6, 1, 2)
    return x.reshape(b * (h // ph) * (w // pw), ph * pw * num_groups, c // num_groups)


@register('MODELS')
class OmniContrastiveLoss(nn.Module):
    """Dense InfoNCE between student and teacher tokens across spatial positions and channel groups.

    Both maps are max-pooled by ``pool_size`` (or cropped to ``crop_size``, the release's CamVid setting), split
    into non-overlapping ``patch_size`` patches and ``num_groups`` channel groups. Within a patch each of the
    ``N2 * M`` student tokens has one positive, the teacher token at the same position and group, and as negatives
    the teacher tokens of every *other* channel group at every position of the patch (same-group tokens at other
    positions are left out). Similarity is the negative L1 distance, logits are divided by ``tau``, and the
    cross-entropy is summed over tokens and divided by ``H_pooled * W_pooled`` and by the batch size, which equals
    ``num_groups`` times the mean InfoNCE (the release's normalisation). Computed in fp32, the teacher detached.

    Args:
        tau (float): Temperature. Defaults to 0.07.
        num_groups (int): Channel groups ``M``. Defaults to 16.
        patch_size (Sequence[int]): Patch height and width. Defaults to (4, 4).
        pool_size (int): Max-pooling kernel and stride before partitioning; 0 disables. Defaults to 4.
        crop_size (Sequence[int], optional): Crop the top-left ``(h, w)`` instead of pooling (the release's CamVid
            path, 44x44). Defaults to None.
        loss_weight (float): ``lambda_ctr``. Defaults to 1.0.
    """

    def __init__(self, tau: float = 0.07, num_groups: int = 16, patch_size: Sequence[int] = (4, 4),
                 pool_size: int = 4, crop_size: Optional[Sequence[int]] = None, loss_weight: float = 1.0) -> None:
        super().__init__()
        if tau <= 0:
            raise ValueError(f'OmniContrastiveLoss: tau must be > 0, got {tau}')
        if num_groups < 2:
            raise ValueError(f'OmniContrastiveLoss: num_groups must be >= 2 (negatives are other groups), '
                             f'got {num_groups}')
        if len(patch_size) != 2 or min(patch_size) < 1:
            raise ValueError(f'OmniContrastiveLoss: patch_size must be two positive ints, got {patch_size}')
        self.tau = tau
        self.num_groups = num_groups
        self.patch_size = tuple(int(p) for p in patch_size)
        self.pool_size = pool_size
        self.crop_size = tuple(crop_size) if crop_size is not None else None
        self.loss_weight = loss_weight

    def _prepare(self, x: torch.Tensor) -> torch.Tensor:
        if self.crop_size is not None:
            return x[:, :, :self.crop_size[0], :self.crop_size[1]]
        if self.pool_size:
            return F.max_pool2d(x, self.pool_size)
        return x

    def forward(self, student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
        if student.shape != teacher.shape or student.dim() != 4:
            raise ValueError(f'OmniContrastiveLoss: student {tuple(student.shape)} and teacher '
                             f'{tuple(teacher.shape)} must be equal (B, C, H, W) maps')
        with fp32_region(student):
            s, t = self._prepare(student.float()), self._prepare(teacher.detach().float())
            b, c, h, w = s.shape
            ph, pw = self.patch_size
            m = self.num_groups
            if c % m or h % ph or w % pw:
                raise ValueError(f'OmniContrastiveLoss: the pooled map (C, H, W) = {(c, h, w)} must be divisible '
                                 f'by num_groups={m} and patch_size={self.patch_size}')
            s_tok = omni_contrastive_tokens(s, self.patch_size, m)
            t_tok = omni_contrastive_tokens(t, self.patch_size, m)
            sim = -torch.cdist(s_tok, t_tok, p=1)  # (B*P, K, K), K = N2 * M
            k = sim.shape[-1]
            group = torch.arange(k, device=sim.device) % m
            positives = sim.diagonal(dim1=1, dim2=2).unsqueeze(-1)
            other_group = group[:, None] != group[None, :]
            negatives = sim.masked_select(other_group).reshape(sim.shape[0], k, k - k // m)
            logits = torch.cat([positives, negatives], dim=-1) / self.tau
            ce = torch.logsumexp(logits, dim=-1) - logits[..., 0]
            return self.loss_weight * ce.sum() / (h * w) / b
