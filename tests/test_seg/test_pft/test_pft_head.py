"""PFTHead inside mmseg's EncoderDecoder: every forward mode, deep supervision, padding/resize, gradients, errors,
and one short real run through tools/train.py."""
import copy
import os.path as osp
import re

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData

from tests.conftest import REPO, run_tool, shapes_overrides, write_config

PFT_SHAPES = 'configs/pft/pft_r18-w32_1xb4-shapes-128x128.py'
NUM_LAYERS, NUM_QUERIES, NUM_CLASSES = 2, 10, 8


def _model_cfg():
    cfg = Config.fromfile(osp.join(REPO, PFT_SHAPES))
    head = cfg.model.decode_head
    head.transformer_decoder.num_layers = NUM_LAYERS
    head.pixel_decoder.encoder.num_layers = 1
    head.train_cfg.num_points = 256
    return cfg.model


@pytest.fixture(scope='module')
def model():
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    torch.manual_seed(0)
    segmentor = MODELS.build(_model_cfg())
    segmentor.init_weights()
    return segmentor


def _samples(batch, size=64, seed=0):
    from mmseg.structures import SegDataSample
    g = torch.Generator().manual_seed(seed)
    samples = []
    for i in range(batch):
        sem = torch.randint(0, NUM_CLASSES, (1, size // 8, size // 8), generator=g)
        sem = F.interpolate(sem[None].float(), size=(size, size), mode='nearest')[0].long()
        sem[:, :4, :] = 255  # an ignored band
        s = SegDataSample(metainfo=dict(img_shape=(size, size), pad_shape=(size, size), ori_shape=(size, size)))
        s.gt_sem_seg = PixelData(data=sem)
        samples.append(s)
    return torch.randn(batch, 3, size, size, generator=g), samples


@pytest.mark.parametrize('batch', [1, 2])
def test_loss_has_one_set_per_decoder_layer_and_every_param_gets_grad(model, batch):
    model.train()
    inputs, samples = _samples(batch)
    losses = model(inputs, samples, mode='loss')
    expected = {f'decode.{p}loss_{k}' for k in ('cls', 'mask', 'dice')
                for p in [''] + [f'd{i}.' for i in range(NUM_LAYERS - 1)]}
    loss_keys = {k for k in losses if 'loss' in k}
    assert loss_keys == expected
    for k in loss_keys:
        assert torch.isfinite(losses[k]).all() and losses[k] > 0, k
    model.zero_grad()
    sum(losses[k] for k in loss_keys).backward()
    for name, p in model.named_parameters():
        if p.requires_grad:
            assert p.grad is not None, f'{name} got no gradient'
            assert torch.isfinite(p.grad).all(), name


def test_tensor_mode_gives_fused_per_layer_predictions(model):
    model.eval()
    inputs, _ = _samples(2)
    with torch.no_grad():
        cls_list, mask_list = model(inputs, mode='tensor')
    assert len(cls_list) == len(mask_list) == NUM_LAYERS
    for cls_pred, mask_pred in zip(cls_list, mask_list):
        assert cls_pred.shape == (2, NUM_QUERIES, NUM_CLASSES + 1)
        assert mask_pred.shape == (2, NUM_QUERIES, 16, 16)  # 1/4 of 64
        assert torch.isfinite(cls_pred).all() and torch.isfinite(mask_pred).all()


def test_fusion_is_the_mean_of_the_branch_predictions(model):
    head = model.decode_head
    g = torch.Generator().manual_seed(1)
    branches = [torch.randn(2, NUM_QUERIES, head.decoder_embed_dims, generator=g) for _ in range(3)]
    mask_features = torch.randn(2, 64, 16, 16, generator=g)
    with torch.no_grad():
        cls_pred, mask_pred = head.fuse_predictions(branches, mask_features)
        ref_cls = torch.stack([head.cls_embed(q) for q in branches]).mean(0)
        ref_mask = torch.stack([torch.einsum('bqc,bchw->bqhw', head.mask_embed(q), mask_features)
                                for q in branches]).mean(0)
    torch.testing.assert_close(cls_pred, ref_cls)
    torch.testing.assert_close(mask_pred, ref_mask, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize('batch', [1, 2])
def test_predict_crops_padding_and_resizes_to_the_original_shape(model, batch):
    from mmseg.structures import SegDataSample
    model.eval()
    g = torch.Generator().manual_seed(2)
    data = dict(inputs=[torch.randint(0, 255, (3, 50, 60), generator=g, dtype=torch.uint8) for _ in range(batch)],
                data_samples=[SegDataSample(metainfo=dict(img_shape=(50, 60), ori_shape=(100, 120)))
                              for _ in range(batch)])
    with torch.no_grad():
        processed = model.data_preprocessor(copy.deepcopy(data), False)
        assert processed['inputs'].shape[-2:] == (64, 64)  # padded to the size divisor 32
        results = model.predict(**processed)
        head_logits = model.decode_head.predict(model.extract_feat(processed['inputs']),
                                                [s.metainfo for s in processed['data_samples']], None)
    assert head_logits.shape == (batch, NUM_CLASSES, 64, 64)
    # semantic inference as mmseg's MaskFormer: softmax classes (no-object dropped) x sigmoid masks, summed
    with torch.no_grad():
        cls_list, mask_list = model.decode_head(model.extract_feat(processed['inputs']))
    masks = F.interpolate(mask_list[-1], size=(64, 64), mode='bilinear', align_corners=False).sigmoid()
    ref = torch.einsum('bqc,bqhw->bchw', cls_list[-1].softmax(-1)[..., :-1], masks)
    torch.testing.assert_close(head_logits, ref, rtol=1e-4, atol=1e-5)
    for i, result in enumerate(results):
        assert result.pred_sem_seg.data.shape == (1, 100, 120)
        logits = result.seg_logits.data
        assert logits.shape == (NUM_CLASSES, 100, 120) and torch.isfinite(logits).all()
        expected = F.interpolate(head_logits[i:i + 1, :, :50, :60], size=(100, 120), mode='bilinear',
                                 align_corners=False)[0]
        torch.testing.assert_close(logits, expected, rtol=1e-4, atol=1e-5)


def test_config_errors_are_clear():
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    head = _model_cfg().decode_head
    bad = copy.deepcopy(head)
    bad.transformer_decoder.layer_cfg.num_branches = 2
    with pytest.raises(ValueError, match='num_branches must equal num_transformer_feat_level=3'):
        MODELS.build(bad)
    bad = copy.deepcopy(head)
    bad.loss_cls.class_weight = [1.0] * NUM_CLASSES
    with pytest.raises(ValueError, match='class_weight must list num_classes \\+ 1 = 9'):
        MODELS.build(bad)
    bad = copy.deepcopy(head)
    bad.pixel_decoder.num_outs = 4
    with pytest.raises(ValueError, match='num_outs must equal'):
        MODELS.build(bad)
    bad = copy.deepcopy(head)
    bad.num_queries = 0
    with pytest.raises(ValueError, match='num_queries must be a positive int'):
        MODELS.build(bad)


@pytest.mark.slow
def test_pft_shapes_train(tiny_shapes, tmp_path):
    body = (shapes_overrides(tiny_shapes, 'seg') + '\ntrain_cfg = dict(max_iters=4, val_interval=4)\n'
            'default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=4))\n'
            'model = dict(decode_head=dict(transformer_decoder=dict(num_layers=2), train_cfg=dict(num_points=256)))')
    cfg = write_config(str(tmp_path / 'pft.py'), PFT_SHAPES, body)
    out = run_tool(['tools/train.py', cfg, '--work-dir', str(tmp_path / 'w')])
    log = out.stdout + out.stderr
    assert re.search(r'decode\.d0\.loss_dice: [0-9.]+', log), 'deep-supervision losses were logged'
    assert re.search(r'mIoU: [0-9.]+', log)
    assert osp.exists(tmp_path / 'w' / 'iter_4.pth')
