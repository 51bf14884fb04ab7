"""CASNet's clustering post-process: dense common attributes -> non-overlapping, hole-free instances.

CASNet ("CASNet: Common Attribute Support Network for image instance and panoptic segmentation", Liu, Hou, Yao,
Chen, Li, arXiv 2008.00810) obtains instances by predicting, at every pixel, attributes common to all pixels of
its instance and clustering pixels on them. Only the abstract is known; the choices made here (see
``configs/casnet/README.md``, "Design choices") are:

* **Attribute.** Each pixel predicts its instance's box ``(x1, y1, x2, y2)`` in absolute image coordinates
  (regressed as distances from the pixel to the four box sides) and, optionally, the instance's mass centre.
  Two pixels belong to the same instance when their predicted boxes agree (IoU) and, if centres are used, their
  predicted centres are close relative to the box size.
* **Cluster centres (seeds).** Thing pixels ranked by ``quality * p(thing)`` (``quality`` = the predicted IoU of
  the pixel's own box with its instance's box) go through greedy NMS on the same affinity as the assignment (box
  IoU, times the centre term when centres are predicted); the survivors are the cluster centres.
* **Assignment.** Every thing pixel joins the centre of highest affinity (one ``N x K`` matrix; no loop over
  pixels); ``refine_iters`` k-means-like steps replace each centre by the quality-weighted mean attribute of its
  members; with ``merge_thr``, refined centres as similar as that to a higher-scored one are dropped (fragments of
  one instance seeded apart by noisy attributes). A pixel whose best affinity is below ``assign_thr`` joins no
  instance.
* **No overlap** holds by construction: instances are read off one label map (one id per pixel).
* **No holes.** A *hole* of an instance is a 4-connected component of the complement of its mask that does not
  touch the image border and contains at least one pixel that no instance claims. (A region enclosed by an
  instance but claimed entirely by other instances is an object in front of it, as in occlusion, and stays.)
  :func:`fill_holes` gives every such unclaimed pixel to the enclosing instance, smallest instances first, so the
  final label map has no holes by this definition; :func:`instance_topology_stats` measures it.

The cost per image is one top-k, one NMS over at most ``nms_pre`` candidates (an ``nms_pre x nms_pre``
affinity), ``1 + refine_iters`` ``N x K`` affinity
matrices at the head's stride (``N`` = thing pixels) and one connected-component labelling per instance on its box
crop at the output resolution (``tools/analysis_tools/benchmark_casnet_postprocess.py`` measures it).
"""
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from scipy import ndimage
from torch import Tensor

__all__ = [
    'attribute_affinity', 'cluster_pixels', 'fill_holes', 'find_holes', 'grow_labels', 'instance_topology_stats',
    'label_map_to_masks', 'masks_to_boxes', 'merge_topology_stats'
]

_FOUR_CONNECTED = ndimage.generate_binary_structure(2, 1)


def _box_iou(a: Tensor, b: Tensor) -> Tensor:
    """IoU of every box in ``a`` (N, 4) with every box in ``b`` (K, 4) -> (N, K)."""
    area_a = (a[:, 2] - a[:, 0]).clamp(min=0) * (a[:, 3] - a[:, 1]).clamp(min=0)
    area_b = (b[:, 2] - b[:, 0]).clamp(min=0) * (b[:, 3] - b[:, 1]).clamp(min=0)
    lt = torch.max(a[:, None, :2], b[None, :, :2])
    rb = torch.min(a[:, None, 2:], b[None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    return inter / (area_a[:, None] + area_b[None, :] - inter).clamp(min=1e-6)


def attribute_affinity(boxes: Tensor, centre_boxes: Tensor, centres: Optional[Tensor] = None,
                       centre_centres: Optional[Tensor] = None, centre_sigma: float = 0.25) -> Tensor:
    """Affinity of N pixels to K cluster centres from their common attributes.

    Args:
        boxes (Tensor): (N, 4) boxes predicted by the pixels.
        centre_boxes (Tensor): (K, 4) boxes of the cluster centres.
        centres (Tensor, optional): (N, 2) instance centres predicted by the pixels.
        centre_centres (Tensor, optional): (K, 2) centres of the cluster centres.
        centre_sigma (float): Gaussian width of the centre term as a fraction of the centre box's diagonal.

    Returns:
        Tensor: (N, K) affinities in [0, 1]: box IoU, times ``exp(-d^2 / (2 (sigma * diag)^2))`` with centres.
    """
    aff = _box_iou(boxes, centre_boxes)
    if centres is not None:
        diag = (centre_boxes[:, 2:] - centre_boxes[:, :2]).norm(dim=1).clamp(min=1.0)
        d2 = (centres[:, None, :] - centre_centres[None, :, :]).pow(2).sum(-1)
        aff = aff * torch.exp(-d2 / (2 * (centre_sigma * diag[None, :]).pow(2)))
    return aff


def _affinity_nms(boxes: Tensor, centres: Optional[Tensor], thr: float, centre_sigma: float,
                  max_rounds: int = 100) -> Tensor:
    """Greedy NMS on the attribute affinity, computed as Cluster-NMS (Zheng et al., arXiv 2005.03572).

    Candidates are sorted by score. Fast-NMS rounds (a candidate survives when no *kept* higher-scored candidate
    has affinity >= ``thr`` with it) are repeated until the kept set no longer changes, which gives exactly the
    result of sequential greedy NMS with matrix operations only.

    Returns:
        Tensor: (M,) bool, the kept candidates.
    """
    aff = attribute_affinity(boxes, boxes, centres, centres, centre_sigma).t()  # [i, j]: j judged from centre i
    aff = torch.triu(aff, diagonal=1)
    keep = torch.ones(boxes.shape[0], dtype=torch.bool, device=boxes.device)
    for _ in range(max_rounds):
        new_keep = (aff * keep[:, None].float()).max(dim=0).values < thr
        if torch.equal(new_keep, keep):
            break
        keep = new_keep
    return keep


def cluster_pixels(boxes: Tensor,
                   seed_scores: Tensor,
                   centres: Optional[Tensor] = None,
                   weights: Optional[Tensor] = None,
                   seed_thr: float = 0.1,
                   nms_pre: int = 1000,
                   seed_iou_thr: float = 0.5,
                   max_instances: int = 100,
                   assign_thr: float = 0.3,
                   refine_iters: int = 1,
                   centre_sigma: float = 0.25,
                   merge_thr: Optional[float] = None) -> Dict[str, Tensor]:
    """Cluster N thing pixels on their predicted common attributes.

    Args:
        boxes (Tensor): (N, 4) instance box predicted at each thing pixel, absolute (x1, y1, x2, y2).
        seed_scores (Tensor): (N,) how reliable each pixel is as a cluster centre.
        centres (Tensor, optional): (N, 2) instance centre predicted at each pixel (the second attribute).
        weights (Tensor, optional): (N,) weights of the pixels in the centre refinement. Defaults to
            ``seed_scores``.
        seed_thr (float): Pixels scoring below this never become centres. Defaults to 0.1.
        nms_pre (int): Top-scoring pixels kept before NMS. Defaults to 1000.
        seed_iou_thr (float): NMS threshold on the affinity between two seeds. Defaults to 0.5.
        max_instances (int): Most centres kept. Defaults to 100.
        assign_thr (float): Least affinity for a pixel to join a centre. Defaults to 0.3.
        refine_iters (int): Centre updates (quality-weighted member means) before the final assignment.
        centre_sigma (float): See :func:`attribute_affinity`.
        merge_thr (float, optional): After each refinement, a centre whose affinity with a higher-scored centre is
            at least this is dropped and its pixels join the others at the next assignment (fragments of one
            instance, seeded apart by noisy attributes, have nearly equal member means). None: no merging.

    Returns:
        dict: ``assign`` (N,) long, cluster index in ``[0, K)`` or -1; ``boxes`` (K, 4) and, with centres,
        ``centres`` (K, 2) of the final cluster centres; ``seed_scores`` (K,) the score of each seed pixel.
    """
    n = boxes.shape[0]
    empty = dict(assign=boxes.new_full((n, ), -1, dtype=torch.long), boxes=boxes.new_zeros((0, 4)),
                 seed_scores=boxes.new_zeros((0, )))
    if centres is not None:
        empty['centres'] = boxes.new_zeros((0, 2))
    if n == 0:
        return empty
    cand = torch.nonzero(seed_scores >= seed_thr, as_tuple=False).squeeze(1)
    if cand.numel() == 0:
        return empty
    if cand.numel() > nms_pre:
        cand = cand[seed_scores[cand].topk(nms_pre).indices]
    cand_boxes = boxes[cand].float()
    valid = (cand_boxes[:, 2] > cand_boxes[:, 0]) & (cand_boxes[:, 3] > cand_boxes[:, 1])
    cand, cand_boxes = cand[valid], cand_boxes[valid]
    if cand.numel() == 0:
        return empty
    order = seed_scores[cand].argsort(descending=True)
    cand = cand[order]
    keep = _affinity_nms(boxes[cand].float(), None if centres is None else centres[cand].float(), seed_iou_thr,
                         centre_sigma)
    seeds = cand[keep][:max_instances]
    c_boxes = boxes[seeds].float()
    c_centres = centres[seeds].float() if centres is not None else None
    w = (seed_scores if weights is None else weights).float().clamp(min=1e-6)
    k = seeds.numel()
    for it in range(refine_iters + 1):
        aff = attribute_affinity(boxes.float(), c_boxes, None if centres is None else centres.float(), c_centres,
                                 centre_sigma)
        best, assign = aff.max(dim=1)
        assign = torch.where(best >= assign_thr, assign, torch.full_like(assign, -1))
        if it == refine_iters:
            break
        member = assign >= 0
        idx = assign[member]
        wm = w[member]
        denom = boxes.new_zeros(k).float().index_add_(0, idx, wm)
        new_boxes = boxes.new_zeros((k, 4)).float().index_add_(0, idx, boxes[member].float() * wm[:, None])
        has = denom > 0
        c_boxes = torch.where(has[:, None], new_boxes / denom.clamp(min=1e-6)[:, None], c_boxes)
        if centres is not None:
            new_c = boxes.new_zeros((k, 2)).float().index_add_(0, idx, centres[member].float() * wm[:, None])
            c_centres = torch.where(has[:, None], new_c / denom.clamp(min=1e-6)[:, None], c_centres)
        if merge_thr is not None and k > 1:  # centres stay in decreasing seed-score order
            keep_c = _affinity_nms(c_boxes, c_centres, merge_thr, centre_sigma)
            seeds, c_boxes, k = seeds[keep_c], c_boxes[keep_c], int(keep_c.sum())
            c_centres = c_centres[keep_c] if c_centres is not None else None
    out = dict(assign=assign, boxes=c_boxes, seed_scores=seed_scores[seeds])
    if centres is not None:
        out['centres'] = c_centres
    return out


def find_holes(mask: np.ndarray) -> np.ndarray:
    """Pixels of the 4-connected components of ``~mask`` that do not touch the image border.

    Args:
        mask (np.ndarray): (H, W) bool mask of one instance.

    Returns:
        np.ndarray: (H, W) bool, True on enclosed pixels; only the mask's box can hold them.
    """
    holes = np.zeros(mask.shape, dtype=bool)
    ys, xs = np.nonzero(mask)
    if ys.size == 0:
        return holes
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    # a 1-pixel frame of complement around the box stands for everything outside it (all of it reaches the border)
    crop = np.pad(~mask[y0:y1, x0:x1], 1, constant_values=True)
    comp, _ = ndimage.label(crop, structure=_FOUR_CONNECTED)
    outside = comp[0, 0]
    holes[y0:y1, x0:x1] = ((comp != outside) & (comp > 0))[1:-1, 1:-1]
    return holes


def fill_holes(label_map: np.ndarray, order: Optional[Sequence[int]] = None) -> np.ndarray:
    """Give every unclaimed pixel enclosed by one instance to that instance (see the module docstring).

    Args:
        label_map (np.ndarray): (H, W) int, 0 = no instance, k > 0 = instance k.
        order (Sequence[int], optional): Instance ids in processing order. Defaults to increasing box area, so
            unclaimed pixels enclosed by nested instances go to the innermost one.

    Returns:
        np.ndarray: A new label map in which no instance has a hole holding an unclaimed pixel.
    """
    out = label_map.copy()
    ids = [int(i) for i in np.unique(out) if i > 0]
    if not ids:
        return out
    if order is None:
        objs = ndimage.find_objects(out)
        area = {i: (objs[i - 1][0].stop - objs[i - 1][0].start) * (objs[i - 1][1].stop - objs[i - 1][1].start)
                for i in ids}
        order = sorted(ids, key=lambda i: (area[i], i))
    for i in order:  # one C-level labelling per instance on its box crop; no Python loop over pixels
        holes = find_holes(out == i)
        if holes.any():
            out[holes & (out == 0)] = i
    return out


def grow_labels(label_map: np.ndarray, allowed: np.ndarray, radius: float) -> np.ndarray:
    """Give each unlabelled ``allowed`` pixel the label of its nearest labelled pixel, if within ``radius``.

    The stride-4 label map, enlarged by nearest neighbour, ends where a boundary cell's centre pixel is not a thing
    even though the rest of the cell (and the full-resolution semantic branch) is: the instances lose up to a cell
    of their rim. This gives those pixels back (one Euclidean distance transform, no loop); labels stay one per
    pixel, so no overlap can arise.

    Args:
        label_map (np.ndarray): (H, W) int, 0 = no instance.
        allowed (np.ndarray): (H, W) bool, the pixels that may join an instance (the thing pixels).
        radius (float): Largest distance in pixels.

    Returns:
        np.ndarray: A new label map.
    """
    out = label_map.copy()
    todo = allowed & (out == 0)
    if radius <= 0 or not todo.any() or not (out > 0).any():
        return out
    dist, (iy, ix) = ndimage.distance_transform_edt(out == 0, return_indices=True)
    grow = todo & (dist <= radius)
    out[grow] = out[iy[grow], ix[grow]]
    return out


def label_map_to_masks(label_map: Tensor, num_instances: int) -> Tensor:
    """(H, W) label map (0 = none, k = instance k) -> (num_instances, H, W) bool masks, instance k at index k-1."""
    ids = torch.arange(1, num_instances + 1, device=label_map.device)
    return label_map[None] == ids[:, None, None]


def masks_to_boxes(masks: Tensor) -> Tensor:
    """Tight (x1, y1, x2, y2) boxes of (N, H, W) bool masks (pixel edges, so a 1-pixel mask is 1x1); zeros if empty."""
    n, h, w = masks.shape
    if n == 0:
        return masks.new_zeros((0, 4), dtype=torch.float32)
    rows, cols = masks.any(dim=2), masks.any(dim=1)
    ar_h = torch.arange(h, device=masks.device)[None].expand(n, h)
    ar_w = torch.arange(w, device=masks.device)[None].expand(n, w)
    big = max(h, w) + 1
    y1 = torch.where(rows, ar_h, big).min(dim=1).values
    y2 = torch.where(rows, ar_h, -1).max(dim=1).values + 1
    x1 = torch.where(cols, ar_w, big).min(dim=1).values
    x2 = torch.where(cols, ar_w, -1).max(dim=1).values + 1
    boxes = torch.stack([x1, y1, x2, y2], dim=1).float()
    return torch.where(rows.any(dim=1)[:, None], boxes, torch.zeros_like(boxes))


def instance_topology_stats(masks: np.ndarray) -> Dict[str, float]:
    """Overlap and holes of the instance masks of one image (for CASNet, Mask R-CNN or the ground truth).

    Args:
        masks (np.ndarray): (N, H, W) bool.

    Returns:
        dict: ``claimed`` pixels claimed by at least one instance, ``multi_claimed`` by two or more,
        ``instances``, ``with_unclaimed_hole`` (instances with a hole holding a pixel no instance claims, the
        module's definition) and ``with_any_hole`` (instances whose complement has any enclosed component, even
        one filled by other instances).
    """
    masks = np.asarray(masks, dtype=bool)
    if masks.ndim != 3:
        raise ValueError(f'instance_topology_stats: masks must be (N, H, W), got shape {masks.shape}')
    count = masks.sum(axis=0) if len(masks) else np.zeros(masks.shape[1:], dtype=np.int64)
    stats = dict(claimed=int((count > 0).sum()), multi_claimed=int((count > 1).sum()), instances=0,
                 with_unclaimed_hole=0, with_any_hole=0)
    unclaimed = count == 0
    for m in masks:  # one labelling per instance, on its box crop
        if not m.any():
            continue
        stats['instances'] += 1
        holes = find_holes(m)
        stats['with_any_hole'] += int(holes.any())
        stats['with_unclaimed_hole'] += int((holes & unclaimed).any())
    return stats


def merge_topology_stats(stats: List[Dict[str, float]]) -> Dict[str, float]:
    """Sum per-image :func:`instance_topology_stats` and add the fractions reported in the README."""
    total = {k: sum(s[k] for s in stats) for k in ('claimed', 'multi_claimed', 'instances', 'with_unclaimed_hole',
                                                   'with_any_hole')}
    total['overlap_fraction'] = total['multi_claimed'] / max(total['claimed'], 1)
    total['unclaimed_hole_fraction'] = total['with_unclaimed_hole'] / max(total['instances'], 1)
    total['any_hole_fraction'] = total['with_any_hole'] / max(total['instances'], 1)
    return total
