"""The masked generative projector of Af-DCD's feature mimicking term (MGD: "Masked Generative Distillation", Yang
et al., ECCV 2022, arXiv:2205.01529; as bound into "Augmentation-free Dense Contrastive Knowledge Distillation for
Efficient Semantic Segmentation", Fan et al., NeurIPS 2023, arXiv:2312.04168)."""
from typing import Optional

import torch
from mmengine.model import BaseModule
from torch import nn

from mmext.registry import register

__all__ = ['MaskedFeatureProjector']


@register('MODELS')
class MaskedFeatureProjector(BaseModule):
    """``projector(mask(align(x)))``: a 1x1 align conv to the teacher's channels (identity when they match), a
    spatial mask, then ``Conv3x3 -> ReLU -> Conv3x3`` (or the release's two-path "enhanced" projector).

    The random mask zeroes each position with probability ``mask_ratio`` (drawn per sample and step, in training
    and in eval alike: the projector exists only for the loss); ``random_mask=False`` zeroes the central third of
    H and W instead (the release's ``rand_mask=False``).

    Args:
        in_channels (int): Student channels ``C_s``.
        out_channels (int): Teacher channels ``C_t``.
        mask_ratio (float): Fraction of zeroed positions. Defaults to 0.75.
        random_mask (bool): Random (True) or central mask. Defaults to True.
        enhanced (bool): The release's ``EnhancedProjector`` (two conv-ReLU blocks, each with its own 3x3 adaptor,
            averaged). Defaults to False.
        init_cfg (dict, optional): Initialisation config. Defaults to PyTorch's default conv init.
    """

    def __init__(self, in_channels: int, out_channels: int, mask_ratio: float = 0.75, random_mask: bool = True,
                 enhanced: bool = False, init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if in_channels <= 0 or out_channels <= 0:
            raise ValueError(f'MaskedFeatureProjector: in_channels and out_channels must be > 0, got '
                             f'{in_channels} and {out_channels}')
        if not 0.0 <= mask_ratio < 1.0:
            raise ValueError(f'MaskedFeatureProjector: mask_ratio must be in [0, 1), got {mask_ratio}')
        self.in_channels, self.out_channels = in_channels, out_channels
        self.mask_ratio = mask_ratio
        self.random_mask = random_mask
        self.enhanced = enhanced
        self.align = nn.Conv2d(in_channels, out_channels, 1) if in_channels != out_channels else nn.Identity()
        c = out_channels
        if enhanced:
            self.block1 = nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.ReLU(inplace=True))
            self.block2 = nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.ReLU(inplace=True))
            self.adaptor1 = nn.Conv2d(c, c, 3, padding=1)
            self.adaptor2 = nn.Conv2d(c, c, 3, padding=1)
        else:
            self.projector = nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.ReLU(inplace=True),
                                           nn.Conv2d(c, c, 3, padding=1))

    def make_mask(self, x: torch.Tensor) -> torch.Tensor:
        """A ``(B, 1, H, W)`` keep-mask (1 keeps, 0 zeroes)."""
        b, _, h, w = x.shape
        if self.random_mask:
            return (torch.rand(b, 1, h, w, device=x.device) <= 1 - self.mask_ratio).to(x.dtype)
        mask = torch.ones(b, 1, h, w, device=x.device, dtype=x.dtype)
        mask[:, :, h // 3:2 * h // 3, w // 3:2 * w // 3] = 0
        return mask

    def project(self, x: torch.Tensor) -> torch.Tensor:
        """The projector alone, on an aligned and masked map."""
        if self.enhanced:
            x1 = self.block1(x)
            x2 = self.block2(x1)
            return (self.adaptor1(x1) + self.adaptor2(x2)) / 2.0
        return self.projector(x)

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f'MaskedFeatureProjector: expected (B, in_channels={self.in_channels}, H, W), got '
                             f'{tuple(x.shape)}')
        x = self.align(x)
        if mask is None:
            mask = self.make_mask(x)
        return self.project(x * mask)
