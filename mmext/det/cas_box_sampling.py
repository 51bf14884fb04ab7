"""Box-aligned class logits for CASNet: each cell reads features at a grid of points inside its predicted box."""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from ..registry import register

__all__ = ['CASBoxLogits', 'sample_in_boxes']


def sample_in_boxes(feats: Tensor, boxes: Tensor, grid: int, stride: int) -> Tensor:
    """Bilinear samples of ``feats`` at a ``grid x grid`` lattice inside every cell's box, vectorised.

    Args:
        feats (Tensor): (B, C, h, w) features at ``stride`` (cell (i, j) covers input pixels
            ``[j*stride, (j+1)*stride)``).
        boxes (Tensor): (B, h, w, 4) boxes ``x1, y1, x2, y2`` in input pixels, one per cell.
        grid (int): Points per side; point (a, b) lies at fractions ``((b+0.5)/grid, (a+0.5)/grid)`` of the box.
        stride (int): Input pixels per feature cell.

    Returns:
        Tensor: (B, C * grid * grid, h, w); channel ``c * grid**2 + a * grid + b`` is channel c at point (a, b).
        Points outside the map read zeros (``padding_mode='zeros'``).
    """
    b, c, h, w = feats.shape
    if boxes.shape != (b, h, w, 4):
        raise ValueError(f'sample_in_boxes: boxes must be {(b, h, w, 4)}, got {tuple(boxes.shape)}')
    frac = (torch.arange(grid, device=feats.device, dtype=feats.dtype) + 0.5) / grid
    x1, y1, x2, y2 = boxes.reshape(b, h * w, 1, 4).unbind(-1)
    ys = y1[..., None] + (y2 - y1)[..., None] * frac.view(1, 1, grid, 1)  # (B, hw, g, 1)
    xs = x1[..., None] + (x2 - x1)[..., None] * frac.view(1, 1, 1, grid)  # (B, hw, 1, g)
    ys, xs = torch.broadcast_tensors(ys, xs)
    # align_corners=False: -1 / +1 are the outer edges of the map, i.e. input pixels 0 and w*stride
    pts = torch.stack([2 * xs / (w * stride) - 1, 2 * ys / (h * stride) - 1], dim=-1).reshape(b, h * w, grid**2, 2)
    out = F.grid_sample(feats, pts.to(feats.dtype), mode='bilinear', padding_mode='zeros', align_corners=False)
    return out.permute(0, 1, 3, 2).reshape(b, c * grid**2, h, w)


@register('MODELS', scopes=['mmdet'])
class CASBoxLogits(nn.Module):
    """Per-class thing logits from features pooled on a grid inside each cell's predicted (detached) box.

    A pixel's own receptive field often sees only part of its instance, so its class is hard to tell; Mask R-CNN
    classifies a pooled box instead. Here every stride-``s`` cell takes the instance box its attribute head
    predicts (detached: the class loss must not move the boxes), samples the projected semantic features at
    ``grid x grid`` points inside it (bilinear) and maps the ``grid**2`` samples to ``num_things`` logits, which
    CASNet adds to the semantic head's thing logits, in training and inference alike.

    Args:
        in_channels (int): Channels of the features sampled (the semantic head's fused features).
        num_things (int): Thing classes.
        grid (int): Points per box side. Defaults to 3.
        channels (int): Channels after the 1x1 projection that precedes sampling. Defaults to 32.
        stride (int): Stride of the features. Defaults to 4.
        hidden (int, optional): Width of one hidden layer (1x1 conv + ReLU) between the samples and the logits, as
            the fully connected layers of Mask R-CNN's box head. None (default): the logits are linear in the
            samples.
    """

    def __init__(self, in_channels: int, num_things: int, grid: int = 3, channels: int = 32,
                 stride: int = 4, hidden: Optional[int] = None) -> None:
        super().__init__()
        checks = (('in_channels', in_channels), ('num_things', num_things), ('grid', grid), ('channels', channels),
                  ('stride', stride)) + ((('hidden', hidden), ) if hidden is not None else ())
        for key, val in checks:
            if not isinstance(val, int) or val < 1:
                raise ValueError(f'CASBoxLogits: {key} must be a positive int, got {val!r}')
        self.grid, self.stride = grid, stride
        self.proj = nn.Sequential(nn.Conv2d(in_channels, channels, 1), nn.ReLU(inplace=True))
        width = channels * grid**2
        self.hidden = None
        if hidden is not None:
            self.hidden = nn.Sequential(nn.Conv2d(width, hidden, 1), nn.ReLU(inplace=True))
            width = hidden
        self.cls = nn.Conv2d(width, num_things, 1)
        nn.init.normal_(self.cls.weight, std=0.01)
        nn.init.zeros_(self.cls.bias)

    def forward(self, feats: Tensor, boxes: Tensor) -> Tensor:
        """(B, C, h, w) features and (B, h, w, 4) boxes (detached here) -> (B, num_things, h, w) logits."""
        x = sample_in_boxes(self.proj(feats), boxes.detach(), self.grid, self.stride)
        return self.cls(x if self.hidden is None else self.hidden(x))

    def extra_repr(self) -> str:
        return f'grid={self.grid}, stride={self.stride}'

