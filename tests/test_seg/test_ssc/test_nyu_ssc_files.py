"""The NYUv2 / SUNCG SSC reader and converter on files made byte by byte in the release's format
(zjhthu/SGC-Release ``ssc/suncg_data_tools``: ``ReadVoxLabel``, ``ReadDepthImage``, ``depth2Grid``,
``SquaredDistanceTransform``), with hand-made known content."""
import importlib.util
import math
import os.path as osp
import struct

import numpy as np
import pytest

from mmext.datasets.shapes3d import (SSC_CLASS_MAP, flip_tsdf, read_sscnet_bin, read_sscnet_depth, release_tsdf,
                                     write_sscnet_bin)

# a camera at world (-0.6, 0.55, 0.35) looking along world +x; camera x (right) = world -y, camera y (down) =
# world -z: R's columns are the camera axes in world coordinates (camera-to-world, as the .bin stores it)
POSE = np.array([[0, 0, 1, -0.6], [-1, 0, 0, 0.55], [0, -1, 0, 0.35], [0, 0, 0, 1]], np.float32)
K9 = np.array([[4, 0, 4], [0, 4, 4], [0, 0, 1]], np.float32)  # a 9x9 image, principal point at pixel (4, 4)


def _bin_bytes(origin, pose, runs, extra=b''):
    """The .bin exactly as ReadVoxLabel reads it: 3 + 16 little-endian floats, then (value, count) int pairs."""
    out = struct.pack('<3f', *origin) + struct.pack('<16f', *np.asarray(pose, np.float32).reshape(-1))
    for value, count in runs:
        out += struct.pack('<II', value, count)
    return out + extra


def test_bin_decoding_by_hand(tmp_path):
    # grid (X, Y, Z) = (4, 3, 5): flat index i is voxel x = i % 4, y = i // 4 % 3, z = i // 12
    runs = [(0, 7), (5, 3), (255, 10), (36, 2), (40, 1), (1, 37)]
    path = tmp_path / 'a.bin'
    path.write_bytes(_bin_bytes((0.5, -1.0, 2.0), POSE, runs, extra=struct.pack('<I', 7)))  # unpaired word
    d = read_sscnet_bin(str(path), grid=(4, 3, 5))
    assert np.allclose(d['vox_origin'], [0.5, -1.0, 2.0]) and np.allclose(d['cam_pose'], POSE)
    lab = d['label']
    assert lab.shape == (4, 3, 5) and lab.dtype == np.uint8

    def at(i):
        return int(lab[i % 4, i // 4 % 3, i // 12])
    # the release's seg_class_map: raw 5 -> 11 (objects), 36 -> 11, 1 -> 1 (ceiling); 255 and >= 37 -> 255
    assert [at(i) for i in (0, 6, 7, 9, 10, 19, 20, 21, 22, 23, 59)] == [0, 0, 11, 11, 255, 255, 11, 11, 255, 1, 1]
    assert at(8) == 11 and lab[0, 2, 0] == 11, 'i = 8 is x 0, y 2, z 0: x runs fastest, then y, then z'
    raw = read_sscnet_bin(str(path), grid=(4, 3, 5), class_map=None)['label']
    assert raw[1, 2, 1] == 36 and raw[2, 2, 1] == 40 and raw[3, 2, 1] == 1
    assert SSC_CLASS_MAP[16] == 9 and SSC_CLASS_MAP[6] == 5 and len(SSC_CLASS_MAP) == 37
    with pytest.raises(ValueError, match=r'run lengths cover 60 voxels, expected 4x3x6'):
        read_sscnet_bin(str(path), grid=(4, 3, 6))
    path.write_bytes(_bin_bytes((0, 0, 0), POSE, [])[:40])
    with pytest.raises(ValueError, match='too short'):
        read_sscnet_bin(str(path))


def test_write_bin_is_the_release_layout(tmp_path):
    lab = np.zeros((4, 3, 5), np.uint8)
    lab[1, 0, 0] = 3  # flat index 1
    lab[0, 0, 1] = 7  # flat index 12
    write_sscnet_bin(str(tmp_path / 'w.bin'), (1, 2, 3), POSE, lab)
    assert (tmp_path / 'w.bin').read_bytes() == _bin_bytes((1, 2, 3), POSE,
                                                           [(0, 1), (3, 1), (0, 10), (7, 1), (0, 47)])


def test_depth_png_bit_rotation_by_hand(tmp_path):
    from PIL import Image
    mm = np.array([[500, 1234, 4095], [8191, 700, 3000]], np.int64)  # millimetres, [row, column]
    stored = ((mm << 3) | (mm >> 13)) & 0xFFFF  # what SUNCG/SSCNet write; ReadDepthImage undoes it
    for s, m in zip(stored.reshape(-1), mm.reshape(-1)):  # the release's formula on 16-bit unsigned values
        assert ((int(s) << 13) | (int(s) >> 3)) & 0xFFFF == m
    Image.fromarray(stored.astype(np.uint16)).save(tmp_path / 'd.png')
    depth = read_sscnet_depth(str(tmp_path / 'd.png'))
    assert depth.shape == (2, 3) and depth.dtype == np.float32
    assert np.allclose(depth, mm / 1000.0)
    assert depth[0, 1] == pytest.approx(1.234) and depth[1, 0] == pytest.approx(8.191)
    Image.fromarray(np.zeros((2, 3), np.uint8)).save(tmp_path / 'e.png')
    with pytest.raises(ValueError, match='16-bit'):
        read_sscnet_depth(str(tmp_path / 'e.png'))


def _release_tsdf_loops(depth, origin, pose, grid, unit, margin, K):
    """The release's CUDA kernels written out literally (one pixel / one voxel at a time), for tiny grids."""
    X, Y, Z = grid
    h, w = depth.shape
    binary = np.zeros(X * Y * Z)
    for py in range(h):  # depth2Grid
        for px in range(w):
            d = float(depth[py, px])
            pc = [(px - K[0, 2]) * d / K[0, 0], (py - K[1, 2]) * d / K[1, 1], d]
            pb = [sum(pose[r, c] * pc[c] for c in range(3)) + pose[r, 3] for r in range(3)]
            z = math.floor((pb[0] - origin[0]) / unit)
            x = math.floor((pb[1] - origin[1]) / unit)
            y = math.floor((pb[2] - origin[2]) / unit)
            if 0 <= x < X and 0 <= y < Y and 0 <= z < Z:
                binary[z * X * Y + y * X + x] = 1
    tsdf = np.ones(X * Y * Z)
    region = int(round(margin / unit))
    for idx in range(X * Y * Z):  # SquaredDistanceTransform
        z, y, x = idx // (X * Y) % Z, idx // X % Y, idx % X
        if binary[idx] > 0:
            tsdf[idx] = 0
            continue
        pb = [z * unit + origin[0] - pose[0, 3], x * unit + origin[1] - pose[1, 3], y * unit + origin[2] - pose[2, 3]]
        pc = [sum(pose[r, c] * pb[r] for r in range(3)) for c in range(3)]
        if pc[2] <= 0:
            continue
        u = math.floor(K[0, 0] * pc[0] / pc[2] + K[0, 2] + 0.5)  # roundf of a positive or small value
        v = math.floor(K[1, 1] * pc[1] / pc[2] + K[1, 2] + 0.5)
        if u < 0 or u >= w or v < 0 or v >= h:
            continue
        d = float(depth[v, u])
        if d < 0.5 or d > 8.0:
            continue
        sign = 1.0 if abs(d - pc[2]) < 0.0001 else math.copysign(1.0, d - pc[2])
        tsdf[idx] = sign
        for ix in range(max(0, x - region), min(X, x + region + 1)):
            for iy in range(max(0, y - region), min(Y, y + region + 1)):
                for iz in range(max(0, z - region), min(Z, z + region + 1)):
                    if binary[iz * X * Y + iy * X + ix] > 0:
                        val = math.sqrt((x - ix) ** 2 + (y - iy) ** 2 + (z - iz) ** 2) / region
                        if val < abs(tsdf[idx]):
                            tsdf[idx] = val * sign
    return tsdf.reshape(Z, Y, X).transpose(2, 1, 0)  # -> [X, Y, Z]


def test_release_tsdf_known_wall_and_loops():
    """A wall 1.25 m in front of the camera (world x = 0.65, grid z = 6) on a 10 x 6 x 12 grid of 0.1 m voxels."""
    depth = np.full((9, 9), 1.25, np.float32)
    depth[0, :3] = 0.3  # too close: the voxels seen through these pixels keep 1 (and their points mark nothing)
    depth[8, 8] = 0.0  # no depth
    grid, origin = (10, 6, 12), np.zeros(3, np.float32)
    t = release_tsdf(depth, origin, POSE, grid, vox_unit=0.1, vox_margin=0.4, K=K9)
    assert t.shape == grid and t.dtype == np.float32
    # the centre pixel hits world (0.65, 0.55, 0.35): grid z = floor(6.5), x = floor(5.5), y = floor(3.5)
    assert t[5, 3, 6] == 0, 'surface voxel: grid (x, y, z) = (world y, world z, world x) / 0.1'
    # along the optical axis, 2 voxels in front of / behind the wall: distance 2 of a 4-voxel margin
    assert t[5, 3, 4] == pytest.approx(0.5) and t[5, 3, 8] == pytest.approx(-0.5)
    assert t[5, 3, 11] == -1 and t[5, 3, 0] == 1, 'beyond the margin: +-1'
    assert (t[:, :, :6] >= 0).all() and (t[:, :, 7:] <= 0).all(), 'free in front of the wall, occluded behind'
    ref = _release_tsdf_loops(depth, origin, POSE, grid, 0.1, 0.4, K9)
    np.testing.assert_allclose(t, ref, atol=1e-6)
    assert (ref == 0).sum() == 6 and ((ref > 0) & (ref < 1)).any() and ((ref < 0) & (ref > -1)).any()
    f = flip_tsdf(t)  # the network input: the release's tsdfTransform
    assert f[5, 3, 6] == 1 and f[5, 3, 4] == pytest.approx(0.5) and f[5, 3, 8] == pytest.approx(-0.5)
    assert f[5, 3, 11] == 0 and f[5, 3, 0] == 0


def test_converter_tool_end_to_end(tmp_path):
    """tools/dataset_converters/nyu_ssc2npz.py on a hand-made scene pair, then SSCDataset on its output."""
    from PIL import Image

    import mmext  # noqa: F401
    from mmext.datasets import SSCDataset
    repo = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
    spec = importlib.util.spec_from_file_location('nyu_ssc2npz',
                                                  osp.join(repo, 'tools/dataset_converters/nyu_ssc2npz.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    X, Y, Z = 16, 8, 16
    raw = np.zeros((X, Y, Z), np.uint32)
    raw[:, 0, :] = 2  # floor (raw 2 -> class 2)
    raw[:, :, 15] = 16  # a wall of raw category 16 -> class 9
    raw[0, 0, 0] = 40  # out of range -> 255
    (tmp_path / 'src').mkdir()
    pose = POSE.copy()
    pose[:3, 3] = (-1.0, 0.11, 0.07)  # the wall 1.13 m ahead is at world x 0.13: grid z 6 of 0.02 m voxels
    write_sscnet_bin(str(tmp_path / 'src' / 'NYU0001_0000.bin'), (0.0, 0.0, 0.0), pose, raw)
    mm = np.full((480, 640), 1130, np.int64)
    Image.fromarray((((mm << 3) | (mm >> 13)) & 0xFFFF).astype(np.uint16)).save(tmp_path / 'src' / 'NYU0001_0000.png')
    tool.main([str(tmp_path / 'src'), str(tmp_path / 'out' / 'scenes'), '--grid', str(X), str(Y), str(Z)])
    with np.load(tmp_path / 'out' / 'scenes' / 'NYU0001_0000.npz') as f:
        label, tsdf = f['label'], f['tsdf']
    assert label.shape == tsdf.shape == (X, Y, Z)
    assert label[3, 0, 3] == 2 and label[3, 4, 15] == 9 and label[0, 0, 0] == 255 and label[3, 4, 3] == 0
    # the NYU camera (fx 518.86, 640x480): the centre pixel hits world (0.13, 0.11, 0.07) = grid (5, 3, 6); margin 12
    assert tsdf[5, 3, 6] == 0 and tsdf[5, 3, 4] == pytest.approx(2 / 12) and tsdf[5, 3, 8] == pytest.approx(-2 / 12)
    ds = SSCDataset(data_root=str(tmp_path / 'out'), data_prefix=dict(scenes=str(tmp_path / 'out' / 'scenes')),
                    out_stride=2)
    item = ds[0]
    assert tuple(item['inputs'].shape) == (X, Y, Z) and float(item['inputs'][5, 3, 6]) == 1.0
    assert tuple(item['data_samples'].gt_label.shape) == (X // 2, Y // 2, Z // 2)
