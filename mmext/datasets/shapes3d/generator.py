"""Shapes-3D: deterministic indoor-like voxel scenes for semantic scene completion (SSC) that train on a CPU.

Each scene is a room (floor, ceiling, four walls with windows) holding furniture-like primitives of the SUNCG/NYU
SSC classes (chair, bed, sofa, table, tv, furniture, objects). A pinhole camera inside the room renders a
single-view depth map by ray casting; the projective TSDF of that depth map (truncated at ``trunc`` voxels,
``+`` in observed free space, ``-`` behind surfaces, ``-1`` where unobserved) is the network input in SSCNet's
flipped form ``sign(t) * (1 - |t|)``, non-zero only near observed surfaces; the target is the complete semantic
voxel grid. Label ids follow the 12 classes used by SSCNet / ESSCNet (0 = empty, 255 = invalid).

Axis convention: volumes are ``[X, Y, Z]`` with ``Y`` up (SUNCG's 240 x 144 x 240 layout); sparse indices are
``(batch, X, Y, Z)``.
"""
from typing import Dict, Tuple

import numpy as np

__all__ = ['SSC_CLASSES', 'SSC_PALETTE', 'SHAPES3D_VERSION', 'render_depth', 'projective_tsdf', 'flip_tsdf',
           'generate_scene']

SHAPES3D_VERSION = 1
SSC_CLASSES = ('empty', 'ceiling', 'floor', 'wall', 'window', 'chair', 'bed', 'sofa', 'table', 'tvs', 'furniture',
               'objects')
SSC_PALETTE = [(0, 0, 0), (214, 38, 40), (43, 160, 4), (158, 216, 229), (114, 158, 206), (204, 204, 91),
               (255, 186, 119), (147, 102, 188), (30, 119, 181), (188, 188, 33), (255, 127, 12), (196, 175, 214)]
CEILING, FLOOR, WALL, WINDOW, CHAIR, BED, SOFA, TABLE, TVS, FURNITURE, OBJECTS = range(1, 12)


def _box(vol: np.ndarray, lo, hi, label: int) -> None:
    """Fill the half-open box ``[lo, hi)`` (clipped to the volume) with ``label``."""
    sl = tuple(slice(max(0, int(a)), max(0, min(int(b), n))) for a, b, n in zip(lo, hi, vol.shape))
    vol[sl] = label


def _place_furniture(rng: np.random.Generator, vol: np.ndarray, cls: int, x0: int, z0: int, fy: int) -> Tuple:
    """Draw one primitive of class ``cls`` with its footprint corner at ``(x0, z0)`` on the floor top ``fy``;
    returns its footprint ``(x0, z0, x1, z1)``."""
    X, Y, Z = vol.shape
    s = max(1, X // 32)  # scale of the primitives with the room size
    if cls == CHAIR:
        w, d = 3 * s, 3 * s
        seat = fy + 3 * s
        for dx, dz in ((0, 0), (w - 1, 0), (0, d - 1), (w - 1, d - 1)):
            _box(vol, (x0 + dx, fy, z0 + dz), (x0 + dx + 1, seat, z0 + dz + 1), CHAIR)
        _box(vol, (x0, seat, z0), (x0 + w, seat + 1, z0 + d), CHAIR)
        _box(vol, (x0, seat, z0 + d - 1), (x0 + w, seat + 4 * s, z0 + d), CHAIR)
    elif cls == BED:
        w, d = int(rng.integers(6, 9)) * s, int(rng.integers(9, 12)) * s
        _box(vol, (x0, fy, z0), (x0 + w, fy + 3 * s, z0 + d), BED)
        _box(vol, (x0, fy, z0 + d - 1), (x0 + w, fy + 6 * s, z0 + d), BED)
    elif cls == SOFA:
        w, d = int(rng.integers(7, 11)) * s, 4 * s
        _box(vol, (x0, fy, z0), (x0 + w, fy + 2 * s, z0 + d), SOFA)
        _box(vol, (x0, fy, z0 + d - s), (x0 + w, fy + 5 * s, z0 + d), SOFA)
        _box(vol, (x0, fy, z0), (x0 + s, fy + 3 * s, z0 + d), SOFA)
        _box(vol, (x0 + w - s, fy, z0), (x0 + w, fy + 3 * s, z0 + d), SOFA)
    elif cls == TABLE:
        w, d = int(rng.integers(5, 9)) * s, int(rng.integers(4, 7)) * s
        top = fy + 4 * s
        for dx, dz in ((0, 0), (w - 1, 0), (0, d - 1), (w - 1, d - 1)):
            _box(vol, (x0 + dx, fy, z0 + dz), (x0 + dx + 1, top, z0 + dz + 1), TABLE)
        _box(vol, (x0, top, z0), (x0 + w, top + 1, z0 + d), TABLE)
        for _ in range(int(rng.integers(0, 3))):  # small objects on the table
            ox, oz = x0 + int(rng.integers(0, max(1, w - s))), z0 + int(rng.integers(0, max(1, d - s)))
            _box(vol, (ox, top + 1, oz), (ox + s, top + 1 + int(rng.integers(1, 3)) * s, oz + s), OBJECTS)
    elif cls == FURNITURE:
        w, d = int(rng.integers(3, 7)) * s, int(rng.integers(2, 4)) * s
        _box(vol, (x0, fy, z0), (x0 + w, fy + int(rng.integers(5, 11)) * s, z0 + d), FURNITURE)
    elif cls == TVS:
        w, d = int(rng.integers(4, 7)) * s, 2 * s
        _box(vol, (x0, fy, z0), (x0 + w, fy + 3 * s, z0 + d), FURNITURE)  # a low cabinet holding the tv
        _box(vol, (x0, fy + 3 * s, z0 + d // 2), (x0 + w, fy + 6 * s, z0 + d // 2 + 1), TVS)
    else:  # OBJECTS: a small box on the floor
        w = d = int(rng.integers(1, 3)) * s
        _box(vol, (x0, fy, z0), (x0 + w, fy + int(rng.integers(1, 4)) * s, z0 + d), OBJECTS)
    return x0, z0, x0 + w, z0 + d


def _room(rng: np.random.Generator, shape: Tuple[int, int, int], max_objects: int) -> np.ndarray:
    X, Y, Z = shape
    vol = np.zeros(shape, np.uint8)
    t = max(1, X // 32)  # wall / floor thickness in voxels
    _box(vol, (0, 0, 0), (X, t, Z), FLOOR)
    _box(vol, (0, Y - t, 0), (X, Y, Z), CEILING)
    _box(vol, (0, t, 0), (t, Y - t, Z), WALL)
    _box(vol, (X - t, t, 0), (X, Y - t, Z), WALL)
    _box(vol, (0, t, Z - t), (X, Y - t, Z), WALL)
    _box(vol, (0, t, 0), (X, Y - t, t), WALL)
    for _ in range(int(rng.integers(1, 3))):  # windows in the side / far walls
        wall = int(rng.integers(0, 3))
        a = int(rng.integers(X // 8, X // 2))
        b = a + int(rng.integers(X // 8, X // 3))
        y0 = int(rng.integers(Y // 4, Y // 2))
        y1 = y0 + int(rng.integers(Y // 5, Y // 3))
        if wall == 0:
            _box(vol, (0, y0, a), (t, y1, b), WINDOW)
        elif wall == 1:
            _box(vol, (X - t, y0, a), (X, y1, b), WINDOW)
        else:
            _box(vol, (a, y0, Z - t), (b, y1, Z), WINDOW)
    footprints = []
    kinds = (CHAIR, BED, SOFA, TABLE, TVS, FURNITURE, OBJECTS)
    for _ in range(int(rng.integers(2, max_objects + 1))):
        cls = kinds[int(rng.integers(0, len(kinds)))]
        for _attempt in range(10):
            x0 = int(rng.integers(t + 1, X - X // 3))
            z0 = int(rng.integers(Z // 4, Z - Z // 3))  # keep the camera's near field free
            trial = vol.copy()
            fp = _place_furniture(rng, trial, cls, x0, z0, t)
            if all(fp[2] + 1 <= f[0] or f[2] + 1 <= fp[0] or fp[3] + 1 <= f[1] or f[3] + 1 <= fp[1]
                   for f in footprints) and fp[2] < X - t and fp[3] < Z - t:
                vol = trial
                footprints.append(fp)
                break
    return vol


def _camera(rng: np.random.Generator, shape) -> Dict[str, np.ndarray]:
    X, Y, Z = shape
    pos = np.array([rng.uniform(0.35, 0.65) * X, rng.uniform(0.45, 0.6) * Y, rng.uniform(1.5, 3.0) * max(1, X // 32)])
    yaw = rng.uniform(-0.35, 0.35)
    pitch = rng.uniform(-0.25, -0.05)
    fwd = np.array([np.sin(yaw) * np.cos(pitch), np.sin(pitch), np.cos(yaw) * np.cos(pitch)])
    right = np.cross(np.array([0.0, 1.0, 0.0]), fwd)
    right /= np.linalg.norm(right)
    up = np.cross(fwd, right)
    return dict(position=pos, rotation=np.stack([right, up, fwd], axis=0))  # rows: camera axes in the world


def render_depth(vol: np.ndarray, cam: Dict[str, np.ndarray], image_hw=(48, 64), fov_x: float = 1.2,
                 step: float = 0.25) -> Tuple[np.ndarray, np.ndarray]:
    """Ray-cast a z-depth map (voxel units along the optical axis, 0 = no hit) and the intrinsics ``K``."""
    h, w = image_hw
    f = (w / 2) / np.tan(fov_x / 2)
    K = np.array([[f, 0, (w - 1) / 2], [0, f, (h - 1) / 2], [0, 0, 1.0]])
    v, u = np.mgrid[0:h, 0:w]
    dirs_cam = np.stack([(u - K[0, 2]) / f, -(v - K[1, 2]) / f, np.ones_like(u, float)], -1).reshape(-1, 3)
    dirs = dirs_cam @ cam['rotation']  # world directions (z_cam = 1)
    occ = vol > 0
    depth = np.zeros(h * w)
    alive = np.ones(h * w, bool)
    max_t = float(np.linalg.norm(vol.shape)) * 1.5
    for t in np.arange(step, max_t, step):
        p = np.floor(cam['position'] + dirs[alive] * t).astype(int)
        inside = ((p >= 0) & (p < np.array(vol.shape))).all(1)
        hit = np.zeros(len(p), bool)
        hit[inside] = occ[p[inside, 0], p[inside, 1], p[inside, 2]]
        idx = np.flatnonzero(alive)
        depth[idx[hit]] = t  # t along a z_cam = 1 direction is the z-depth
        alive[idx[hit | ~inside]] = False
        if not alive.any():
            break
    return depth.reshape(h, w), K


def projective_tsdf(shape, depth: np.ndarray, K: np.ndarray, cam_pose: np.ndarray, trunc: float = 3.0,
                    vox_origin=(0.0, 0.0, 0.0), vox_unit: float = 1.0) -> np.ndarray:
    """Projective TSDF of a depth map on a voxel grid.

    Each voxel centre ``vox_origin + (index + 0.5) * vox_unit`` is moved into the camera (``cam_pose``: 4x4
    camera-to-world, OpenCV axes: x right, y down, z forward), projected with ``K`` to pixel ``(u, v)`` at depth
    ``z``; ``tsdf = clip((D(u, v) - z) / (trunc * vox_unit), -1, 1)``. ``-1`` marks unobserved voxels (outside the
    view, or more than ``trunc`` behind the surface); a pixel without depth counts as free space along its ray.
    """
    X, Y, Z = (int(s) for s in shape)
    g = np.stack(np.meshgrid(np.arange(X), np.arange(Y), np.arange(Z), indexing='ij'), -1).reshape(-1, 3) + 0.5
    world = np.asarray(vox_origin, np.float64) + g * vox_unit
    R, t = cam_pose[:3, :3].astype(np.float64), cam_pose[:3, 3].astype(np.float64)
    pc = (world - t) @ R  # world -> camera: R^T (p - t)
    z = pc[:, 2]
    tsdf = -np.ones(len(g))
    front = z > 1e-6
    u = np.round(K[0, 0] * pc[front, 0] / z[front] + K[0, 2]).astype(int)
    v = np.round(K[1, 1] * pc[front, 1] / z[front] + K[1, 2]).astype(int)
    h, w = depth.shape
    ok = (u >= 0) & (u < w) & (v >= 0) & (v < h)
    rows = np.flatnonzero(front)[ok]
    d = depth[v[ok], u[ok]]
    tr = trunc * vox_unit
    sdf = np.where(d > 0, d - z[rows], tr)
    tsdf[rows] = np.clip(sdf / tr, -1, 1)
    tsdf[rows[(d > 0) & (sdf < -tr)]] = -1  # far behind the surface: occluded
    return tsdf.reshape(X, Y, Z).astype(np.float32)


def flip_tsdf(tsdf: np.ndarray) -> np.ndarray:
    """SSCNet's flipped TSDF ``sign(t) * (1 - |t|)``: large near surfaces, 0 far away (and where |t| = 1)."""
    sign = np.where(tsdf >= 0, 1.0, -1.0)
    return (sign * (1.0 - np.abs(tsdf))).astype(np.float32)


def generate_scene(seed: int, shape=(64, 32, 64), max_objects: int = 6, image_hw=(48, 64), trunc: float = 3.0
                   ) -> Dict[str, np.ndarray]:
    """One scene, fully determined by ``seed``: ``label`` (uint8 ``[X, Y, Z]``), ``tsdf`` (float32, projective,
    in [-1, 1]), ``depth`` (z-depth image, voxel units), ``K``, ``cam_pose`` (4x4 camera-to-world, OpenCV axes)."""
    rng = np.random.default_rng(seed)
    shape = tuple(int(s) for s in shape)
    if len(shape) != 3 or min(shape) < 16:
        raise ValueError(f'generate_scene: shape must be 3 sizes >= 16 ([X, Y, Z]), got {shape}')
    label = _room(rng, shape, max_objects)
    cam = _camera(rng, shape)
    depth, K = render_depth(label, cam, image_hw)
    pose = np.eye(4)  # camera-to-world with OpenCV axes (x right, y down, z forward)
    right, up, fwd = cam['rotation']
    pose[:3, :3] = np.stack([right, -up, fwd], axis=1)
    pose[:3, 3] = cam['position']
    tsdf = projective_tsdf(shape, depth, K, pose, trunc)
    return dict(label=label, tsdf=tsdf, depth=depth.astype(np.float32), K=K.astype(np.float32),
                cam_pose=pose.astype(np.float32))
