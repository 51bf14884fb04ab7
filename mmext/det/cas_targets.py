"""CASNet's training targets at the head's stride: semantic labels and the instance that owns each cell."""
from typing import Tuple

import torch
import torch.nn.functional as F
from mmdet.structures import DetDataSample, SampleList
from torch import Tensor

__all__ = ['instance_owner', 'sample_at_stride', 'semantic_targets']


def sample_at_stride(maps: Tensor, stride: int, out_hw: Tuple[int, int], pad_value: int) -> Tensor:
    """Nearest sampling of (N, H, W) maps at the centres of ``stride`` cells, padded to ``out_hw`` cells."""
    sampled = maps[:, stride // 2::stride, stride // 2::stride]
    h, w = out_hw
    sampled = sampled[:, :h, :w]
    if sampled.shape[-2:] != (h, w):
        sampled = F.pad(sampled, (0, w - sampled.shape[-1], 0, h - sampled.shape[-2]), value=pad_value)
    return sampled


def semantic_targets(data_samples: SampleList, num_things: int, num_stuff: int, stride: int,
                     out_hw: Tuple[int, int], ignore_index: int = 255) -> Tensor:
    """Per-cell semantic labels (B, h, w) at ``stride``: things 0..T-1, stuff T..T+S-1, ``ignore_index`` void.

    With ``gt_sem_seg`` (panoptic annotations; mmdet's convention, things first) it is sampled as is. Without it
    (instance annotations) the label is the class of the smallest instance mask covering the cell and stuff index
    ``num_things`` (the one "background" stuff class) elsewhere.
    """
    targets = []
    for sample in data_samples:
        if 'gt_sem_seg' in sample:
            seg = sample.gt_sem_seg.sem_seg.long()
            tgt = sample_at_stride(seg, stride, out_hw, ignore_index)[0]
            bad = (tgt != ignore_index) & ((tgt < 0) | (tgt >= num_things + num_stuff))
            if bad.any():
                raise ValueError(f'gt_sem_seg holds labels {torch.unique(tgt[bad]).tolist()} outside '
                                 f'[0, {num_things + num_stuff}) (num_things_classes + num_stuff_classes)')
        else:
            if num_stuff != 1:
                raise ValueError('CASSemanticHead: samples without gt_sem_seg (instance annotations) need '
                                 f'num_stuff_classes=1 (one background class), got {num_stuff}')
            owner, _ = instance_owner(sample, stride, out_hw)
            labels = sample.gt_instances.labels.to(owner.device)
            tgt = torch.full(out_hw, num_things, dtype=torch.long, device=owner.device)
            tgt[owner >= 0] = labels[owner[owner >= 0]]
        targets.append(tgt)
    return torch.stack(targets)


def instance_owner(sample: DetDataSample, stride: int, out_hw: Tuple[int, int]) -> Tuple[Tensor, Tensor]:
    """Index of the instance that owns each cell at ``stride`` (smallest covering mask, -1 for none).

    Returns:
        tuple: ``owner`` (h, w) long and the instance areas (N,) in cells.
    """
    gt = sample.gt_instances
    device = gt.labels.device
    n = len(gt)
    if n == 0:
        return torch.full(out_hw, -1, dtype=torch.long, device=device), torch.zeros(0, device=device)
    masks = gt.masks
    masks = masks.to_tensor(dtype=torch.bool, device=device) if hasattr(masks, 'to_tensor') else masks.bool()
    cells = sample_at_stride(masks, stride, out_hw, 0)
    area = cells.flatten(1).sum(1).float()
    cost = torch.where(cells, area[:, None, None], torch.full_like(area[:, None, None], float('inf')))
    best, owner = cost.min(dim=0)
    owner = torch.where(torch.isfinite(best), owner, torch.full_like(owner, -1))
    return owner, area
