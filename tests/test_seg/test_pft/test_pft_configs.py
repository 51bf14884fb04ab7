"""The full-size PFT configs load and inherit mmseg's bases; the R-50 head has the documented size."""
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

from tests.conftest import REPO

C, FF, S, LAYERS = 256, 2048, 3, 6


def _decoder_params_written_out():
    attn = 4 * C * C + 4 * C
    ffn = 2 * C * FF + FF + C
    layer = S * (2 * attn + ffn + 3 * 2 * C) + attn + 2 * C
    return LAYERS * layer + 2 * C


@pytest.mark.parametrize('name,num_classes,in_channels,crop', [
    ('pft_r50_8xb2-160k_ade20k-512x512.py', 150, [256, 512, 1024, 2048], (512, 512)),
    ('pft_swin-b-in22k-384x384-pre_8xb2-160k_ade20k-512x512.py', 150, [128, 256, 512, 1024], (512, 512)),
    ('pft_r101-d32c_8xb4-60k_coco-stuff10k-640x640.py', 171, [256, 512, 1024, 2048], (640, 640)),
])
def test_full_size_config(name, num_classes, in_channels, crop):
    cfg = Config.fromfile(osp.join(REPO, 'configs/pft', name))
    assert cfg.default_scope == 'mmseg' and cfg.custom_imports.imports == ['mmext']
    head_cfg = cfg.model.decode_head
    assert head_cfg.type == 'PFTHead' and head_cfg.in_channels == in_channels
    assert tuple(cfg.model.data_preprocessor.size) == crop
    assert head_cfg.num_classes == num_classes
    assert head_cfg.loss_cls.class_weight == [1.0] * num_classes + [0.1]


def test_r50_ade20k_head_size():
    from mmseg.registry import MODELS
    cfg = Config.fromfile(osp.join(REPO, 'configs/pft/pft_r50_8xb2-160k_ade20k-512x512.py'))
    init_default_scope('mmseg')
    head = MODELS.build(cfg.model.decode_head)
    num_classes = 150
    assert head.num_classes == num_classes and head.cls_embed.out_features == num_classes + 1
    assert head.query_feat.weight.shape == (S * 100, C)
    assert len(head.transformer_decoder.layers) == LAYERS
    assert sum(p.numel() for p in head.transformer_decoder.parameters()) == _decoder_params_written_out()
