"""CASNet's clustering post-process: hand-made attribute maps, hole filling, no overlap / no holes on random input."""
from collections import deque

import numpy as np
import pytest
import torch

from mmext.det.cas_clustering import (cluster_pixels, fill_holes, find_holes, grow_labels, instance_topology_stats,
                                      label_map_to_masks, masks_to_boxes, merge_topology_stats)


def _reference_holes(mask: np.ndarray) -> np.ndarray:
    """Brute-force flood fill of ~mask from the border (4-connectivity), in pure Python."""
    h, w = mask.shape
    reached = np.zeros_like(mask)
    queue = deque((y, x) for y in range(h) for x in range(w) if (y in (0, h - 1) or x in (0, w - 1)) and not mask[y, x])
    for y, x in queue:
        reached[y, x] = True
    while queue:
        y, x = queue.popleft()
        for dy, dx in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            v, u = y + dy, x + dx
            if 0 <= v < h and 0 <= u < w and not mask[v, u] and not reached[v, u]:
                reached[v, u] = True
                queue.append((v, u))
    return ~mask & ~reached


def _regions_to_attributes(label_map: np.ndarray, stride: float = 1.0):
    """Per-pixel attributes that a perfect network would predict for the instances of ``label_map``."""
    ids = [i for i in np.unique(label_map) if i > 0]
    boxes = np.zeros(label_map.shape + (4, ), np.float32)
    centres = np.zeros(label_map.shape + (2, ), np.float32)
    for i in ids:
        ys, xs = np.nonzero(label_map == i)
        boxes[label_map == i] = [xs.min() * stride, ys.min() * stride, (xs.max() + 1) * stride,
                                 (ys.max() + 1) * stride]
        centres[label_map == i] = [(xs.mean() + 0.5) * stride, (ys.mean() + 0.5) * stride]
    return torch.from_numpy(boxes), torch.from_numpy(centres)


def test_hand_made_attribute_maps_give_the_instances():
    lm = np.zeros((20, 24), np.int64)
    lm[2:9, 2:10] = 1  # a rectangle
    lm[10:18, 3:8] = 2  # a tall one below it
    lm[4:16, 12:22] = 3  # a big one on the right ...
    lm[7:11, 15:19] = 4  # ... with a small one in front of it (occlusion: a hole of 3 claimed by 4)
    boxes, centres = _regions_to_attributes(lm)
    fg = torch.from_numpy(lm > 0).reshape(-1)
    idx = torch.nonzero(fg).squeeze(1)
    for use_centres in (False, True):
        res = cluster_pixels(boxes.reshape(-1, 4)[idx], torch.ones(len(idx)),
                             centres.reshape(-1, 2)[idx] if use_centres else None, assign_thr=0.5)
        assert res['boxes'].shape[0] == 4 and (res['assign'] >= 0).all()
        # each true instance maps to exactly one cluster and vice versa
        truth = torch.from_numpy(lm.reshape(-1))[idx]
        pairs = set(zip(truth.tolist(), res['assign'].tolist()))
        assert len(pairs) == 4 and len({p[0] for p in pairs}) == 4 and len({p[1] for p in pairs}) == 4
    # the centre attribute separates two instances that predict the same box (seeding and assignment)
    same = torch.tensor([[0., 0., 10., 10.]] * 6)
    ctr = torch.tensor([[2., 2.]] * 3 + [[8., 8.]] * 3)
    scores = torch.tensor([1., .9, .8, .7, .6, .5])
    assert cluster_pixels(same, scores, None, seed_iou_thr=0.5)['boxes'].shape[0] == 1
    res = cluster_pixels(same, scores, ctr, seed_iou_thr=0.5, centre_sigma=0.1)
    assert res['boxes'].shape[0] == 2 and res['assign'].tolist() == [0, 0, 0, 1, 1, 1]


def test_cluster_pixels_empty_and_below_threshold():
    res = cluster_pixels(torch.zeros((0, 4)), torch.zeros(0), torch.zeros((0, 2)))
    assert res['assign'].numel() == 0 and res['boxes'].shape == (0, 4) and res['centres'].shape == (0, 2)
    res = cluster_pixels(torch.tensor([[0., 0., 4., 4.]]), torch.tensor([0.01]), seed_thr=0.1)
    assert res['assign'].tolist() == [-1] and res['boxes'].shape == (0, 4)
    degenerate = cluster_pixels(torch.tensor([[3., 3., 3., 9.]]), torch.tensor([1.0]))  # zero-width box
    assert degenerate['boxes'].shape == (0, 4)


def test_find_holes_matches_flood_fill_reference():
    rng = np.random.default_rng(0)
    for _ in range(60):
        mask = rng.random((11, 13)) < rng.uniform(0.3, 0.8)
        np.testing.assert_array_equal(find_holes(mask), _reference_holes(mask))
    ring = np.zeros((7, 7), bool)
    ring[1:6, 1:6] = True
    ring[3, 3] = False
    assert find_holes(ring).sum() == 1 and find_holes(np.zeros((4, 4), bool)).sum() == 0
    diagonal = np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], bool)  # 4-connected complement: the centre is enclosed
    assert find_holes(diagonal)[1, 1]


def test_fill_holes_fills_unclaimed_and_keeps_objects_in_front():
    lm = np.zeros((12, 12), np.int64)
    lm[1:11, 1:11] = 1
    lm[3, 3] = 0  # an unclaimed hole of 1
    lm[6:9, 6:9] = 2  # an instance in front of 1
    out = fill_holes(lm)
    assert out[3, 3] == 1 and (out[6:9, 6:9] == 2).all() and (out[lm != 0] == lm[lm != 0]).all()
    # nested: an unclaimed pixel inside 2 (which sits inside 1) goes to the innermost instance, 2
    lm[7, 7] = 0
    assert fill_holes(lm)[7, 7] == 2
    stats = instance_topology_stats(label_map_to_masks(torch.from_numpy(fill_holes(lm)), 2).numpy())
    assert stats['with_unclaimed_hole'] == 0 and stats['with_any_hole'] == 1 and stats['multi_claimed'] == 0


@pytest.mark.parametrize('seed', range(4))
def test_no_overlap_and_no_holes_on_random_attributes(seed):
    """Random attribute maps (boxes, centres, scores) -> cluster -> label map -> fill: no overlap, no holes."""
    g = torch.Generator().manual_seed(seed)
    h, w = 24, 32
    # a few random instance boxes; each pixel predicts, with noise, the box of a random instance containing it
    # (or a random box), and random drop-outs of the foreground punch holes into the instances
    n = 6
    xy0 = torch.rand((n, 2), generator=g) * torch.tensor([w - 6., h - 6.])
    inst = torch.cat([xy0, xy0 + 4 + torch.rand((n, 2), generator=g) * 12], dim=1)
    ys, xs = torch.meshgrid(torch.arange(h) + 0.5, torch.arange(w) + 0.5, indexing='ij')
    xy = torch.stack([xs.reshape(-1), ys.reshape(-1)], dim=1)
    inside = ((xy[:, None, 0] > inst[None, :, 0]) & (xy[:, None, 0] < inst[None, :, 2]) &
              (xy[:, None, 1] > inst[None, :, 1]) & (xy[:, None, 1] < inst[None, :, 3]))
    pick = torch.multinomial(inside.float() + 1e-3, 1, generator=g).squeeze(1)
    boxes = inst[pick] + torch.randn((h * w, 4), generator=g) * 0.5
    rnd = torch.rand(h * w, generator=g) < 0.2
    boxes[rnd] = torch.cat([xy[rnd] - 3, xy[rnd] + 3], dim=1)
    fg = inside.any(1) & (torch.rand(h * w, generator=g) > 0.15)
    idx = torch.nonzero(fg).squeeze(1)
    scores = torch.rand(h * w, generator=g) * torch.where(rnd, 0.3, 1.0)
    res = cluster_pixels(boxes[idx], scores[idx], xy[idx] if seed % 2 else None, assign_thr=0.2)
    lm = torch.zeros(h * w, dtype=torch.long)
    lm[idx[res['assign'] >= 0]] = res['assign'][res['assign'] >= 0] + 1
    lm = lm.reshape(h, w).numpy()
    k = res['boxes'].shape[0]
    before = instance_topology_stats(label_map_to_masks(torch.from_numpy(lm), k).numpy())
    filled = fill_holes(lm)
    after = instance_topology_stats(label_map_to_masks(torch.from_numpy(filled), k).numpy())
    assert k > 1 and before['with_unclaimed_hole'] > 0, 'the random case must actually contain holes'
    assert after['multi_claimed'] == 0 and after['with_unclaimed_hole'] == 0
    assert after['claimed'] >= before['claimed'] and (filled[lm > 0] == lm[lm > 0]).all()
    for i in range(1, k + 1):  # independently re-checked with the pure-Python flood fill
        assert not (_reference_holes(filled == i) & (filled == 0)).any()


def test_masks_to_boxes_and_merged_stats():
    masks = torch.zeros((3, 6, 8), dtype=torch.bool)
    masks[0, 1:3, 2:5] = True
    masks[1, 5, 7] = True
    assert masks_to_boxes(masks).tolist() == [[2, 1, 5, 3], [7, 5, 8, 6], [0, 0, 0, 0]]
    overlapping = np.zeros((2, 5, 5), bool)
    overlapping[0, :3, :3] = overlapping[1, 2:, 2:] = True
    s = instance_topology_stats(overlapping)
    assert s['multi_claimed'] == 1 and s['claimed'] == 17
    total = merge_topology_stats([s, s])
    assert total['overlap_fraction'] == pytest.approx(2 / 34) and total['instances'] == 4
    with pytest.raises(ValueError, match=r'\(N, H, W\)'):
        instance_topology_stats(np.zeros((4, 4), bool))


def test_merging_refined_centres_joins_the_fragments_of_one_noisy_instance():
    """One instance whose pixels predict its 10 px box shifted by -2.5..2.5 px; the two extreme pixels score
    highest, so seed NMS keeps both (IoU 0.33 < 0.5). Their members' mean boxes (shifts -1.4 / +1.6, IoU 0.53)
    merge at 0.5."""
    shifts = torch.linspace(-2.5, 2.5, 11)
    boxes = torch.stack([shifts, torch.zeros(11), shifts + 10, torch.full((11, ), 10.)], dim=1)
    scores = torch.full((11, ), 0.5)
    scores[0] = scores[-1] = 0.9
    frag = cluster_pixels(boxes, scores, seed_iou_thr=0.5, assign_thr=0.1, refine_iters=1)
    assert frag['boxes'].shape[0] == 2 and set(frag['assign'].tolist()) == {0, 1}
    merged = cluster_pixels(boxes, scores, seed_iou_thr=0.5, assign_thr=0.1, refine_iters=1, merge_thr=0.5)
    assert merged['boxes'].shape[0] == 1 and (merged['assign'] == 0).all()
    assert merged['seed_scores'].tolist() == [pytest.approx(0.9)]


def test_grow_labels_gives_rim_pixels_to_the_nearest_instance_only_within_the_radius():
    labels = np.zeros((12, 12), np.int64)
    labels[2:6, 2:6] = 1
    labels[2:6, 7:10] = 2
    allowed = np.zeros((12, 12), bool)
    allowed[1:7, 1:11] = True  # a one-pixel rim around both, and the column between them
    allowed[10, 10] = True  # far from every instance
    out = grow_labels(labels, allowed, radius=1.5)
    assert (out[labels > 0] == labels[labels > 0]).all()  # labelled pixels never change
    assert out[1, 1] == 1 and out[1, 10] == 2 and out[6, 3] == 1 and out[3, 6] in (1, 2)
    assert out[10, 10] == 0 and not out[~allowed].any()
    np.testing.assert_array_equal(grow_labels(labels, allowed, radius=0), labels)
    np.testing.assert_array_equal(grow_labels(np.zeros_like(labels), allowed, radius=3), 0)
