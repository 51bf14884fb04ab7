"""ESSCNet's loss: cross-entropy over a selected set of voxels at both output resolutions.

"Efficient Semantic Scene Completion Network with Spatial Group Convolution", Zhang et al., ECCV 2018,
arXiv 1907.05091 (release zjhthu/SGC-Release: ``data.py``, ``eval/weighted_cross_entropy.py``). Per sample: all
hard positives (occupied voxels whose 3x3x3 neighbourhood holds another label), easy positives (the other occupied
voxels) numbering ``int(easy_ratio x #hard)``, and ``int(min(neg_ratio x #positives, #candidates / hard_neg_frac))``
negatives (the release's ``data.py``, where ``hard_neg_frac`` is written ``1 - easy_ratio``) of which
``hard_neg_frac`` are hard negatives (empty voxels with ``0 < TSDF < 0.99``) and the rest other empty voxels; label 255 is never
selected. The TSDF is the observed (projective) one, or as in the release (``script/prepare_weight.py``) the TSDF of
the complete labels (free space within 12 voxels of any surface, seen or not): ``hard_negative_tsdf``.
Each resolution's loss is normalised by its number of selected voxels; the low-resolution weights are the 2x2x2
max of the high-resolution ones.
"""
from typing import Dict, Optional

import torch
import torch.nn.functional as F
from torch import nn

from ...registry import register

__all__ = ['select_voxels', 'SSCSelectedCELoss']


def _sample(mask: torch.Tensor, num: int, generator: Optional[torch.Generator]) -> torch.Tensor:
    """A boolean mask with ``min(num, mask.sum())`` of ``mask``'s voxels chosen uniformly at random."""
    idx = mask.reshape(-1).nonzero().squeeze(1)
    out = torch.zeros(mask.numel(), dtype=torch.bool, device=mask.device)
    if num > 0 and idx.numel() > 0:
        perm = torch.randperm(idx.numel(), generator=generator, device='cpu').to(idx.device)
        out[idx[perm[:min(num, idx.numel())]]] = True
    return out.view_as(mask)


def select_voxels(label: torch.Tensor, tsdf: torch.Tensor, easy_ratio: float = 0.1, neg_ratio: float = 2.0,
                  hard_neg_frac: float = 0.9, ignore_index: int = 255,
                  generator: Optional[torch.Generator] = None) -> Dict[str, torch.Tensor]:
    """The release's voxel selection for one ``[X, Y, Z]`` label volume; returns boolean masks
    ``hard_pos``, ``easy_pos``, ``hard_neg``, ``easy_neg`` and their union ``selected``."""
    if label.dim() != 3 or label.shape != tsdf.shape:
        raise ValueError(f'select_voxels: label {tuple(label.shape)} and tsdf {tuple(tsdf.shape)} must be the '
                         'same [X, Y, Z]')
    valid = label != ignore_index
    occupied = valid & (label > 0)
    lab = label.float()[None, None]
    hi = torch.where(valid, label.float(), torch.full_like(lab[0, 0], -1.0))[None, None]
    lo = torch.where(valid, label.float(), torch.full_like(lab[0, 0], 1e4))[None, None]
    nb_max = F.max_pool3d(F.pad(hi, (1, ) * 6, value=-1.0), 3, 1)[0, 0]
    nb_min = -F.max_pool3d(F.pad(-lo, (1, ) * 6, value=-1e4), 3, 1)[0, 0]
    other = (nb_max > label.float()) | (nb_min < label.float())
    hard_pos = occupied & other
    n_hard = int(hard_pos.sum())
    # the counts as the release's data.py computes them (int truncation; the negatives are capped so that hard
    # negatives keep their share when candidates are scarce: neg <= #candidates / hard_neg_frac)
    easy_pos = _sample(occupied & ~hard_pos, int(easy_ratio * n_hard), generator)
    n_pos = n_hard + int(easy_pos.sum())
    empty = valid & (label == 0)
    candidates = empty & (tsdf > 0) & (tsdf < 0.99)
    n_cand = int(candidates.sum())
    n_neg = neg_ratio * n_pos
    if hard_neg_frac > 0:
        n_neg = min(n_neg, n_cand / hard_neg_frac)
    n_neg = int(n_neg)
    hard_neg = _sample(candidates, int(min(n_neg * hard_neg_frac, n_cand)), generator)
    easy_neg = _sample(empty & ~hard_neg, n_neg - int(hard_neg.sum()), generator)
    selected = hard_pos | easy_pos | hard_neg | easy_neg
    return dict(hard_pos=hard_pos, easy_pos=easy_pos, hard_neg=hard_neg, easy_neg=easy_neg, selected=selected)


@register('MODELS', scopes=['mmseg'])
class SSCSelectedCELoss(nn.Module):
    """``loss = CE(1/s) + CE(1/2s)`` over the selected voxels (see :func:`select_voxels`).

    Args:
        easy_ratio (float): easy positives per hard positive. Defaults to 0.1 (release).
        neg_ratio (float): negatives per positive. Defaults to 2 (release).
        hard_neg_frac (float): share of hard negatives among the negatives. Defaults to 0.9 (release).
        loss_weight (float): Multiplies both terms. Defaults to 1.
        ignore_index (int): Invalid label. Defaults to 255.
        hard_negative_tsdf (str): The TSDF tested for hard negatives: ``'observed'`` (the data sample's ``tsdf``)
            or ``'complete'`` (its ``tsdf_complete``, the release's; needs ``SSCDataset(with_complete_tsdf=True)``).
            The model passes the data sample field named by :attr:`tsdf_key`. Defaults to ``'observed'``.
    """

    TSDF_KEYS = dict(observed='tsdf', complete='tsdf_complete')

    def __init__(self, easy_ratio: float = 0.1, neg_ratio: float = 2.0, hard_neg_frac: float = 0.9,
                 loss_weight: float = 1.0, ignore_index: int = 255, hard_negative_tsdf: str = 'observed') -> None:
        super().__init__()
        if not 0 <= hard_neg_frac <= 1:
            raise ValueError(f'SSCSelectedCELoss: hard_neg_frac must be in [0, 1], got {hard_neg_frac}')
        if hard_negative_tsdf not in self.TSDF_KEYS:
            raise ValueError(f"SSCSelectedCELoss: hard_negative_tsdf must be 'observed' or 'complete', got "
                             f'{hard_negative_tsdf!r}')
        self.hard_negative_tsdf = hard_negative_tsdf
        self.easy_ratio, self.neg_ratio, self.hard_neg_frac = float(easy_ratio), float(neg_ratio), hard_neg_frac
        self.loss_weight = float(loss_weight)
        self.ignore_index = int(ignore_index)

    @property
    def tsdf_key(self) -> str:
        """The data sample field holding the TSDF for the hard negatives."""
        return self.TSDF_KEYS[self.hard_negative_tsdf]

    def weights(self, labels: torch.Tensor, tsdf: torch.Tensor) -> torch.Tensor:
        """``[B, X, Y, Z]`` 0/1 selection weights."""
        return torch.stack([select_voxels(lab, t, self.easy_ratio, self.neg_ratio, self.hard_neg_frac,
                                          self.ignore_index)['selected'] for lab, t in zip(labels, tsdf)]).float()

    @staticmethod
    def _ce(logits: torch.Tensor, labels: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        target = torch.where(weight > 0, labels, torch.zeros_like(labels))
        ce = F.cross_entropy(logits.float(), target, reduction='none')
        return (ce * weight).sum() / weight.sum().clamp(min=1.0)

    def forward(self, logits: torch.Tensor, logits_low: torch.Tensor, labels: torch.Tensor,
                labels_low: torch.Tensor, tsdf: torch.Tensor) -> Dict[str, torch.Tensor]:
        w = self.weights(labels, tsdf)
        w_low = F.max_pool3d(w[:, None], 2, 2)[:, 0]
        if w_low.shape != labels_low.shape:
            raise ValueError(f'SSCSelectedCELoss: low-res labels {tuple(labels_low.shape)} are not half of '
                             f'{tuple(labels.shape)}')
        w_low = w_low * (labels_low != self.ignore_index)
        return dict(loss_ssc=self.loss_weight * self._ce(logits, labels, w),
                    loss_ssc_low=self.loss_weight * self._ce(logits_low, labels_low, w_low))
