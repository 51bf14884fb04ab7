"""Down-sampling of SSC labels and TSDF volumes to the network's output resolutions (numpy)."""
import numpy as np

__all__ = ['downsample_label', 'downsample_tsdf']


def _blocks(vol: np.ndarray, factor: int) -> np.ndarray:
    X, Y, Z = vol.shape
    if X % factor or Y % factor or Z % factor:
        raise ValueError(f'volume {vol.shape} is not divisible by the down-sampling factor {factor}')
    b = vol.reshape(X // factor, factor, Y // factor, factor, Z // factor, factor)
    return b.transpose(0, 2, 4, 1, 3, 5).reshape(X // factor, Y // factor, Z // factor, factor ** 3)


def downsample_label(label: np.ndarray, factor: int, num_classes: int = 12, empty_ratio: float = 0.95,
                     ignore_index: int = 255) -> np.ndarray:
    """SSCNet's rule: a block is empty when more than ``empty_ratio`` of it is empty or invalid (invalid when it is
    all invalid), else it takes the most frequent non-empty valid label."""
    if factor == 1:
        return label.copy()
    b = _blocks(label.astype(np.int64), factor)
    n = b.shape[-1]
    invalid = b == ignore_index
    empty = (b == 0) | invalid
    counts = np.zeros(b.shape[:-1] + (num_classes, ), np.int64)
    for c in range(1, num_classes):
        counts[..., c] = (b == c).sum(-1)
    out = counts.argmax(-1).astype(np.uint8)
    out[empty.sum(-1) > empty_ratio * n] = 0
    out[invalid.all(-1)] = ignore_index
    return out


def downsample_tsdf(tsdf: np.ndarray, factor: int) -> np.ndarray:
    """Block mean of the projective TSDF, except that blocks mostly unobserved/occluded (``t < 0``) keep a
    negative value (the mean of their negative voxels), so ``-1 <= t < 0`` marks occluded output voxels."""
    if factor == 1:
        return tsdf.copy()
    b = _blocks(tsdf, factor)
    neg = b < 0
    mostly_neg = neg.mean(-1) > 0.5
    mean = b.mean(-1)
    neg_mean = np.where(neg, b, 0).sum(-1) / np.maximum(neg.sum(-1), 1)
    return np.where(mostly_neg, neg_mean, np.maximum(mean, 0)).astype(np.float32)
