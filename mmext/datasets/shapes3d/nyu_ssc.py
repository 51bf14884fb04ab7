"""Read SSCNet's NYUv2 SSC files (``NYU<id>_0000.png`` depth + ``NYU<id>_0000.bin`` labels) into the
``tsdf`` + ``label`` scenes that :class:`mmext.datasets.SSCDataset` loads.

The file layout follows SSCNet's data tools as remembered, NOT verified against the released files here (no
NYU data can be downloaded on this machine): ``.bin`` = 3 float32 voxel origin (metres, world), 16 float32
camera-to-world pose (row-major), then run-length pairs ``(value, count)`` of uint32 over the 240 x 144 x 240
grid with ``x`` fastest and ``z`` slowest (labels 0..11, 255 = outside the room); the world frame is z-up and grid
``y`` (144, height) runs along world ``z``; depth PNG = uint16 millimetres with the 3-bit rotation
``(d >> 3) | (d << 13)``; intrinsics fx = fy = 518.8579, cx = 320, cy = 240; 0.02 m voxels. Check a converted
scene against its depth image before training on it.
"""
from typing import Dict, Tuple

import numpy as np

from .generator import projective_tsdf

__all__ = ['NYU_K', 'NYU_GRID', 'read_sscnet_bin', 'write_sscnet_bin', 'read_sscnet_depth', 'convert_nyu_scene']

NYU_K = np.array([[518.8579, 0, 320], [0, 518.8579, 240], [0, 0, 1]], np.float32)
NYU_GRID = (240, 144, 240)  # X, Y (height), Z


def read_sscnet_bin(path: str, grid: Tuple[int, int, int] = NYU_GRID) -> Dict[str, np.ndarray]:
    """``vox_origin`` (3,), ``cam_pose`` (4, 4) and ``label`` uint8 ``[X, Y, Z]`` from an SSCNet ``.bin``."""
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size < 19 * 4:
        raise ValueError(f'{path}: {raw.size} bytes, too short for an SSCNet .bin (origin + pose + labels)')
    head = raw[:76].view(np.float32)
    rle = raw[76:]
    if rle.size % 8:
        raise ValueError(f'{path}: the run-length part is {rle.size} bytes, not pairs of uint32')
    pairs = rle.view(np.uint32).reshape(-1, 2)
    flat = np.repeat(pairs[:, 0], pairs[:, 1])
    X, Y, Z = grid
    if flat.size != X * Y * Z:
        raise ValueError(f'{path}: run lengths cover {flat.size} voxels, expected {X}x{Y}x{Z} = {X * Y * Z}')
    label = flat.reshape(Z, Y, X).transpose(2, 1, 0).astype(np.uint8)  # x fastest -> [X, Y, Z]
    return dict(vox_origin=head[:3].copy(), cam_pose=head[3:19].reshape(4, 4).copy(), label=label)


def write_sscnet_bin(path: str, vox_origin: np.ndarray, cam_pose: np.ndarray, label: np.ndarray) -> None:
    """Inverse of :func:`read_sscnet_bin` (for tests and for exporting)."""
    flat = label.transpose(2, 1, 0).reshape(-1).astype(np.uint32)
    change = np.flatnonzero(np.diff(flat)) + 1
    starts = np.concatenate([[0], change])
    counts = np.diff(np.concatenate([starts, [flat.size]]))
    pairs = np.stack([flat[starts], counts], 1).astype(np.uint32)
    with open(path, 'wb') as f:
        f.write(np.asarray(vox_origin, np.float32).tobytes() + np.asarray(cam_pose, np.float32).tobytes()
                + pairs.tobytes())


def read_sscnet_depth(path: str) -> np.ndarray:
    """Depth in metres from SSCNet's bit-rotated uint16 PNG."""
    from PIL import Image
    d = np.asarray(Image.open(path)).astype(np.uint16)
    return (((d >> 3) | (d << 13)).astype(np.float32) / 1000.0)


def convert_nyu_scene(depth: np.ndarray, bin_data: Dict[str, np.ndarray], vox_unit: float = 0.02,
                      trunc_voxels: float = 12.0, K: np.ndarray = NYU_K) -> Dict[str, np.ndarray]:
    """``tsdf`` + ``label`` ``[X, Y, Z]`` for one NYU scene (grid ``y`` along world ``z``)."""
    X, Y, Z = bin_data['label'].shape
    # world axes (x, z-up, y) of the grid are (X, Z, Y): compute on that grid, then reorder to [X, Y, Z]
    tsdf_xzy = projective_tsdf((X, Z, Y), depth, K, bin_data['cam_pose'], trunc_voxels, bin_data['vox_origin'],
                               vox_unit)
    return dict(tsdf=tsdf_xzy.transpose(0, 2, 1).copy(), label=bin_data['label'])
