"""RON's anchors equal the authors' Caffe generator: the 40 (w, h) pairs, their order and the centre convention."""
import numpy as np
import pytest
import torch

from mmext.det import RONAnchorGenerator

# (w, h) per level from the released generate_anchors.py (base 32, ratios .333/.5/1/2/3, scales (s, s+1))
CAFFE_PAIRS = [
    [(55, 18), (110, 36), (45, 22), (90, 44), (32, 32), (64, 64), (23, 46), (46, 92), (18, 54), (36, 108)],
    [(165, 54), (220, 72), (135, 66), (180, 88), (96, 96), (128, 128), (69, 138), (92, 184), (54, 162), (72, 216)],
    [(275, 90), (330, 108), (225, 110), (270, 132), (160, 160), (192, 192), (115, 230), (138, 276), (90, 270),
     (108, 324)],
    [(385, 126), (440, 144), (315, 154), (360, 176), (224, 224), (256, 256), (161, 322), (184, 368), (126, 378),
     (144, 432)],
]


def _py_faster_rcnn_anchors(base_size, ratios, scales):
    """py-faster-rcnn's generate_anchors, written out: inclusive-pixel boxes around the window (0,0,base-1,base-1)."""
    def whctrs(a):
        w, h = a[2] - a[0] + 1, a[3] - a[1] + 1
        return w, h, a[0] + 0.5 * (w - 1), a[1] + 0.5 * (h - 1)

    def mkanchors(ws, hs, x, y):
        ws, hs = ws[:, None], hs[:, None]
        return np.hstack((x - 0.5 * (ws - 1), y - 0.5 * (hs - 1), x + 0.5 * (ws - 1), y + 0.5 * (hs - 1)))

    base = np.array([1, 1, base_size, base_size]) - 1
    w, h, x, y = whctrs(base)
    size_ratios = w * h / np.array(ratios)
    ws = np.round(np.sqrt(size_ratios))
    hs = np.round(ws * np.array(ratios))
    ratio_anchors = mkanchors(ws, hs, x, y)
    out = []
    for a in ratio_anchors:
        w, h, x, y = whctrs(a)
        out.append(mkanchors(w * np.array(scales), h * np.array(scales), x, y))
    return np.vstack(out)


def test_the_40_pairs_order_and_centres():
    gen = RONAnchorGenerator()
    assert gen.num_levels == 4 and gen.num_base_priors == [10] * 4
    for level, (anchors, pairs) in enumerate(zip(gen.base_anchors, CAFFE_PAIRS)):
        wh = torch.stack([anchors[:, 2] - anchors[:, 0], anchors[:, 3] - anchors[:, 1]], 1)
        assert wh.round().long().tolist() == [list(p) for p in pairs], f'level {level}'
        centres = (anchors[:, :2] + anchors[:, 2:]) / 2
        assert torch.allclose(centres, torch.full_like(centres, 15.5)), 'every level is centred at 15.5, not stride/2'


@pytest.mark.parametrize('level,scales', [(0, (1, 2)), (1, (3, 4)), (2, (5, 6)), (3, (7, 8))])
def test_equal_to_written_out_caffe_generator_on_the_grid(level, scales):
    stride = (8, 16, 32, 64)[level]
    caffe = _py_faster_rcnn_anchors(32, [0.333, 0.5, 1, 2, 3], scales)
    # Caffe's shifted anchors (anchor_target_layer.py): location-major, anchors inner; x = col * stride
    h, w = 3, 4
    shift_x, shift_y = np.meshgrid(np.arange(w) * stride, np.arange(h) * stride)
    shifts = np.stack([shift_x.ravel(), shift_y.ravel()] * 2, axis=1)
    caffe_grid = (caffe[None] + shifts[:, None]).reshape(-1, 4)
    # inclusive-pixel box -> centre and size, i.e. mmdet's continuous box centre -/+ size / 2
    c_w, c_h = caffe_grid[:, 2] - caffe_grid[:, 0] + 1, caffe_grid[:, 3] - caffe_grid[:, 1] + 1
    c_x, c_y = (caffe_grid[:, 0] + caffe_grid[:, 2]) / 2, (caffe_grid[:, 1] + caffe_grid[:, 3]) / 2
    expected = np.stack([c_x - c_w / 2, c_y - c_h / 2, c_x + c_w / 2, c_y + c_h / 2], 1)
    ours = RONAnchorGenerator().grid_priors([(h, w)] * 4, device='cpu')[level]
    np.testing.assert_allclose(ours.numpy(), expected, atol=1e-4)


def test_custom_base_size_and_bad_scales():
    gen = RONAnchorGenerator(base_size=16)
    assert gen.center_offset == 7.5
    squares = [sorted({tuple(p) for p in (a[:, 2:] - a[:, :2]).round().long().tolist() if p[0] == p[1]})
               for a in gen.base_anchors]
    assert squares == [[(16, 16), (32, 32)], [(48, 48), (64, 64)], [(80, 80), (96, 96)], [(112, 112), (128, 128)]]
    with pytest.raises(ValueError, match='scales must have one entry per stride'):
        RONAnchorGenerator(strides=(8, 16), scales=[(1, 2)])
