"""The SGC release's voxel rules (numpy, vectorised): its down-sampling and its TSDF of the complete labels.

"Efficient Semantic Scene Completion Network with Spatial Group Convolution", Zhang et al., ECCV 2018 (release
zjhthu/SGC-Release, ``ssc/suncg_data_tools/include/downsample.hpp`` and ``tsdf.hpp`` ``CompleteTSDF``; the hard
negatives of ``script/prepare_weight.py`` are empty voxels with ``0 < t < 0.99`` on the down-sampled complete TSDF).
Volumes are ``[X, Y, Z]``; a block's voxels are visited x, then y, then z fastest, as the release's loops do.
"""
import numpy as np
from scipy.ndimage import distance_transform_edt

from .voxel_ops import _blocks

__all__ = ['release_mode', 'downsample_label_release', 'downsample_tsdf_release', 'complete_tsdf']


def release_mode(values: np.ndarray, candidate: np.ndarray = None) -> np.ndarray:
    """The release's ``mode`` per row of ``values`` ``[N, n]``: the value occurring most often, ties to the one that
    occurs first; a value must occur at least twice (the release counts the *later* equal values and needs more
    than 0), else the result is 0. ``candidate`` (bool ``[N, n]``) restricts the values that may win
    (``modeLargerZero``: labels in (0, 255))."""
    n = values.shape[-1]
    order = np.argsort(values, axis=-1, kind='stable')
    s = np.take_along_axis(values, order, -1)
    idx = np.broadcast_to(np.arange(n), s.shape)
    start = np.ones(s.shape, bool)
    start[:, 1:] = s[:, 1:] != s[:, :-1]
    end = np.ones(s.shape, bool)
    end[:, :-1] = start[:, 1:]
    first = np.maximum.accumulate(np.where(start, idx, 0), axis=-1)
    last = np.minimum.accumulate(np.where(end, idx, n - 1)[:, ::-1], axis=-1)[:, ::-1]
    count = last - first + 1
    first_seen = np.take_along_axis(order, first, -1)  # stable sort: a run starts at the value's first voxel
    key = count * (n + 1) + (n - first_seen)
    if candidate is not None:
        key = np.where(np.take_along_axis(candidate, order, -1), key, -1)
    best = key.argmax(-1)[:, None]
    won = (np.take_along_axis(count, best, -1) >= 2) & (np.take_along_axis(key, best, -1) >= 0)
    return np.where(won, np.take_along_axis(s, best, -1), 0)[:, 0]


def downsample_label_release(label: np.ndarray, factor: int, ignore_index: int = 255) -> np.ndarray:
    """``downsampleLabel``: a block with more than 95 % empty or invalid voxels takes the mode of all its values
    (so it is invalid when invalid voxels outnumber empty ones), else the mode of its classes ``(0, ignore_index)``
    (0 when no class occurs twice). ``factor == 1`` returns a copy (the release then uses the full labels)."""
    if factor == 1:
        return label.copy()
    b = _blocks(label.astype(np.int64), factor)
    shape, n = b.shape[:-1], b.shape[-1]
    b = b.reshape(-1, n)
    zero = (b == 0) | (b == ignore_index)
    mostly_empty = zero.sum(-1) > 0.95 * n
    out = np.where(mostly_empty, release_mode(b), release_mode(b, ~zero))
    return out.reshape(shape).astype(label.dtype)


def downsample_tsdf_release(tsdf: np.ndarray, factor: int) -> np.ndarray:
    """``downsampleTSDF``: the block mean, unless at least 75 % of the block has ``|t| >= 1``; then the mode of the
    block's values. ``factor == 1`` returns a copy."""
    if factor == 1:
        return tsdf.copy()
    b = _blocks(tsdf.astype(np.float32), factor)
    shape, n = b.shape[:-1], b.shape[-1]
    b = b.reshape(-1, n)
    saturated = (np.abs(b) >= 1).sum(-1) >= 0.75 * n
    out = np.where(saturated, release_mode(b), b.mean(-1, dtype=np.float64))
    return out.reshape(shape).astype(np.float32)


def complete_tsdf(label: np.ndarray, radius: int = 12, ignore_index: int = 255) -> np.ndarray:
    """``CompleteTSDF`` at the labels' resolution: 0 on occupied voxels (``0 < label != ignore_index``), else the
    euclidean distance (in voxels) to the nearest occupied voxel / ``radius``, at most 1.

    The release searches the cube of half-size ``radius = round(vox_margin / vox_unit)`` (0.24 / 0.02 = 12) and
    starts from 1; a nearest voxel within distance ``radius`` always lies in that cube and one farther away gives
    a value above 1, so ``min(1, edt / radius)`` is the same volume.
    """
    if int(radius) < 1:
        raise ValueError(f'complete_tsdf: radius must be >= 1 voxel, got {radius}')
    occupied = (label > 0) & (label != ignore_index)
    if not occupied.any():
        return np.ones(label.shape, np.float32)
    dist = distance_transform_edt(~occupied)
    return np.minimum(1.0, dist / float(radius)).astype(np.float32)
