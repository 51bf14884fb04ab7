"""Read SSCNet's NYUv2 / SUNCG SSC files (``<name>.png`` depth + ``<name>.bin`` labels) into the ``tsdf`` +
``label`` scenes that :class:`mmext.datasets.SSCDataset` loads, exactly as the ESSCNet release prepares them.

Format and conversion follow the release's data tools (zjhthu/SGC-Release ``ssc/suncg_data_tools``:
``include/suncg_io.hpp`` ``ReadVoxLabel`` / ``ReadDepthImage``, ``include/tsdf.hpp`` ``depth2Grid`` /
``SquaredDistanceTransform`` / ``tsdfTransform``, ``include/params.hpp``), which are SSCNet's:

* ``.bin``: 3 float32 voxel origin (metres), 16 float32 camera pose (row-major 4x4, camera-to-world), then
  run-length pairs ``(value, count)`` of 32-bit ints up to the end of the file, over the 240 x 144 x 240 grid with
  ``x`` fastest: flat index ``(z * 144 + y) * 240 + x``. Raw values are SUNCG's 37 categories, mapped to the 12 SSC
  classes by the release's ``seg_class_map`` (:data:`SSC_CLASS_MAP`); 255 and values >= 37 become 255 (ignored).
* grid -> world: voxel ``(x, y, z)`` sits at ``(z, x, y) * 0.02 + origin`` (the release's "XYZ -> YZX"; world z
  is up, so grid ``y`` (144) is the height), voxel corners, no half-voxel shift.
* depth ``.png``: 16-bit, millimetres rotated by 3 bits: ``depth = ((v << 13) | (v >> 3)) & 0xffff``.
* camera: fx = fy = 518.8579, cx = 320, cy = 240 (640 x 480).
* TSDF: voxels hit by a back-projected depth pixel are the surface (0); every other voxel in view of a pixel with
  0.5 m <= depth <= 8 m gets ``sign(depth - z_cam) * min(1, d / 12)``, ``d`` its Euclidean distance in voxels to
  the nearest surface voxel (the release searches a cube of ``round(0.24 / 0.02) = 12`` voxels); all others keep 1.
  The network input is the flipped TSDF ``sign(t) (1 - |t|)``; the ``.npz`` stores ``t`` (the dataset flips it).
"""
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

__all__ = ['NYU_K', 'NYU_GRID', 'SSC_CLASS_MAP', 'read_sscnet_bin', 'write_sscnet_bin', 'read_sscnet_depth',
           'release_tsdf', 'convert_nyu_scene']

NYU_K = np.array([[518.8579, 0, 320], [0, 518.8579, 240], [0, 0, 1]], np.float32)
NYU_GRID = (240, 144, 240)  # vox_size (x, y = height, z), x fastest in the files
#: params.hpp ``seg_class_map``: SUNCG's 37 categories -> empty + 11 SSC classes
SSC_CLASS_MAP = (0, 1, 2, 3, 4, 11, 5, 6, 7, 8, 8, 10, 10, 10, 11, 11, 9, 8, 11, 11, 11, 11, 11, 11, 11, 11, 11, 10,
                 10, 11, 8, 10, 11, 9, 11, 11, 11)


def read_sscnet_bin(path: str, grid: Tuple[int, int, int] = NYU_GRID,
                    class_map: Optional[Sequence[int]] = SSC_CLASS_MAP) -> Dict[str, np.ndarray]:
    """``vox_origin`` (3,), ``cam_pose`` (4, 4) and ``label`` uint8 ``[X, Y, Z]`` from an SSCNet ``.bin``.

    Args:
        grid: ``(X, Y, Z)`` voxel counts (the release's ``vox_size``).
        class_map: raw value -> class (255 and values past the map -> 255); ``None`` keeps the raw values.
    """
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size < 19 * 4:
        raise ValueError(f'{path}: {raw.size} bytes, too short for an SSCNet .bin (origin + pose + labels)')
    head = raw[:76].view('<f4')
    words = raw[76:76 + (raw.size - 76) // 4 * 4].view('<u4')
    pairs = words[:words.size // 2 * 2].reshape(-1, 2)  # as the release: an unpaired last word is ignored
    X, Y, Z = grid
    if int(pairs[:, 1].sum(dtype=np.int64)) != X * Y * Z:
        raise ValueError(f'{path}: run lengths cover {int(pairs[:, 1].sum(dtype=np.int64))} voxels, expected '
                         f'{X}x{Y}x{Z} = {X * Y * Z} (grid=(X, Y, Z))')
    flat = np.repeat(pairs[:, 0], pairs[:, 1])
    if class_map is not None:
        lut = np.full(256, 255, np.uint8)
        lut[:len(class_map)] = np.asarray(class_map, np.uint8)
        flat = np.where(flat < 256, lut[np.minimum(flat, 255)], 255)
    elif flat.max(initial=0) > 255:
        raise ValueError(f'{path}: raw label {int(flat.max())} does not fit uint8; pass a class_map')
    label = flat.reshape(Z, Y, X).transpose(2, 1, 0).astype(np.uint8)  # x fastest -> [X, Y, Z]
    return dict(vox_origin=head[:3].astype(np.float32), cam_pose=head[3:19].reshape(4, 4).astype(np.float32),
                label=label)


def write_sscnet_bin(path: str, vox_origin: np.ndarray, cam_pose: np.ndarray, label: np.ndarray) -> None:
    """Write ``label`` ``[X, Y, Z]`` (raw values) in the ``.bin`` layout (for tests and for exporting)."""
    flat = label.transpose(2, 1, 0).reshape(-1).astype(np.uint32)
    change = np.flatnonzero(np.diff(flat)) + 1
    starts = np.concatenate([[0], change])
    counts = np.diff(np.concatenate([starts, [flat.size]]))
    pairs = np.stack([flat[starts], counts], 1).astype('<u4')
    with open(path, 'wb') as f:
        f.write(np.asarray(vox_origin, '<f4').tobytes() + np.asarray(cam_pose, '<f4').tobytes() + pairs.tobytes())


def read_sscnet_depth(path: str) -> np.ndarray:
    """Depth in metres ``[H, W]`` from SSCNet's bit-rotated 16-bit PNG."""
    from PIL import Image
    with Image.open(path) as im:
        if im.mode not in ('I;16', 'I;16B', 'I;16L', 'I'):
            raise ValueError(f'{path}: mode {im.mode!r}; SSCNet depth is a 16-bit PNG')
        v = np.asarray(im).astype(np.uint32) & 0xFFFF
    return ((((v << 13) | (v >> 3)) & 0xFFFF).astype(np.float32) / 1000.0)


def _roundf(v: np.ndarray) -> np.ndarray:
    """C ``roundf``: halves away from zero."""
    return (np.sign(v) * np.floor(np.abs(v) + 0.5)).astype(np.int64)


def release_tsdf(depth: np.ndarray, vox_origin: np.ndarray, cam_pose: np.ndarray,
                 grid: Tuple[int, int, int] = NYU_GRID, vox_unit: float = 0.02, vox_margin: float = 0.24,
                 K: np.ndarray = NYU_K) -> np.ndarray:
    """The release's (unflipped) TSDF ``[X, Y, Z]`` of one depth image (see the module docstring)."""
    from scipy.ndimage import distance_transform_edt
    X, Y, Z = (int(s) for s in grid)
    depth = np.asarray(depth, np.float32)
    h, w = depth.shape
    o = np.asarray(vox_origin, np.float64)
    R, t = np.asarray(cam_pose, np.float64)[:3, :3], np.asarray(cam_pose, np.float64)[:3, 3]
    fx, fy, cx, cy = float(K[0, 0]), float(K[1, 1]), float(K[0, 2]), float(K[1, 2])
    # depth2Grid: every pixel's back-projected point marks its voxel (world x -> grid z, y -> x, z -> y)
    py, px = np.mgrid[0:h, 0:w]
    pc = np.stack([(px - cx) * depth / fx, (py - cy) * depth / fy, depth], -1).reshape(-1, 3)
    pw = pc @ R.T + t
    gz, gx, gy = (np.floor((pw[:, i] - o[i]) / vox_unit).astype(np.int64) for i in range(3))
    inside = (gx >= 0) & (gx < X) & (gy >= 0) & (gy < Y) & (gz >= 0) & (gz < Z)
    surface = np.zeros((X, Y, Z), bool)
    surface[gx[inside], gy[inside], gz[inside]] = True
    region = int(_roundf(np.float64(vox_margin / vox_unit)))
    dist = distance_transform_edt(~surface) if surface.any() else np.full((X, Y, Z), np.inf)
    ratio = np.minimum(1.0, dist / max(region, 1))
    tsdf = np.ones((X, Y, Z), np.float32)
    yy, zz = np.meshgrid(np.arange(Y), np.arange(Z), indexing='ij')
    for x in range(X):  # one grid-x slice at a time keeps the memory small
        world = np.stack([zz * vox_unit + o[0], np.full_like(zz, x) * vox_unit + o[1], yy * vox_unit + o[2]], -1)
        cam = (world.reshape(-1, 3) - t) @ R  # R^T (p - t)
        zc = cam[:, 2]
        ok = zc > 0
        u = np.full(zc.shape, -1, np.int64)
        v = np.full(zc.shape, -1, np.int64)
        u[ok] = _roundf(fx * cam[ok, 0] / zc[ok] + cx)
        v[ok] = _roundf(fy * cam[ok, 1] / zc[ok] + cy)
        ok &= (u >= 0) & (u < w) & (v >= 0) & (v < h)
        d = np.zeros(zc.shape, np.float64)
        d[ok] = depth[v[ok], u[ok]]
        ok &= (d >= 0.5) & (d <= 8.0)
        diff = d - zc
        sign = np.where(np.abs(diff) < 1e-4, 1.0, np.sign(diff))
        sl = tsdf[x].reshape(-1)
        sl[ok] = (sign * ratio[x].reshape(-1))[ok]
    tsdf[surface] = 0.0
    return tsdf


def convert_nyu_scene(depth: np.ndarray, bin_data: Dict[str, np.ndarray], vox_unit: float = 0.02,
                      vox_margin: float = 0.24, K: np.ndarray = NYU_K) -> Dict[str, np.ndarray]:
    """``tsdf`` (the release's, unflipped) + ``label`` ``[X, Y, Z]`` for one scene read by :func:`read_sscnet_bin`
    and :func:`read_sscnet_depth`."""
    label = bin_data['label']
    tsdf = release_tsdf(depth, bin_data['vox_origin'], bin_data['cam_pose'], label.shape, vox_unit, vox_margin, K)
    return dict(tsdf=tsdf, label=label)
