"""SSDHeadCompat: mmdet 3.3's SSDHead with a working predict (the SSD baseline of the RON Shapes comparison)."""
import torch
from mmengine.config import Config

from tests.conftest import REPO

SSD_CFG = 'configs/ron/ssd160_vgg16-w0125-bn_1xb8-12e_shapes.py'


def _build_light_ssd():
    from mmdet.registry import MODELS
    from mmengine.registry import init_default_scope

    import mmext  # noqa: F401
    init_default_scope('mmdet')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(f'{REPO}/{SSD_CFG}').model)
    # mmdet's L2Norm (SSDNeck) allocates its scale with torch.Tensor(n) and only fills it in init_weights: without
    # this call the scale is uninitialised memory and the loss is NaN or ~1e20 depending on what the allocator hands out
    model.init_weights()
    return model


def test_ssd_compat_all_modes_and_gradients():
    from mmdet.testing import demo_mm_inputs
    model = _build_light_ssd()
    assert type(model.bbox_head).__name__ == 'SSDHeadCompat'
    packed = demo_mm_inputs(2, image_shapes=(3, 160, 160), num_items=[3, 0], num_classes=5)  # one empty image
    data = model.data_preprocessor(packed, True)
    model.train()
    losses = model(**data, mode='loss')
    total, _ = model.parse_losses(losses)
    assert torch.isfinite(total)
    total.backward()
    missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing, missing
    model.eval()
    with torch.no_grad():
        outs = model(**model.data_preprocessor(packed, False), mode='tensor')
        preds = model(**model.data_preprocessor(packed, False), mode='predict')
    assert len(outs) == 2 and len(outs[0]) == 4  # cls / reg scores on the 4 levels (strides 8..64)
    # 160 is padded to 192 (pad_size_divisor 64, as for RON)
    assert [tuple(o.shape[-2:]) for o in outs[0]] == [(24, 24), (12, 12), (6, 6), (3, 3)]
    for p in preds:
        scores = p.pred_instances.scores
        assert torch.isfinite(scores).all() and ((scores >= 0) & (scores <= 1)).all()
        assert len(scores) <= 100


def test_upstream_ssd_head_predict_state():
    """Documents why the subclass exists: mmdet 3.3's own SSDHead cannot predict (mmdetection#11780)."""
    import pytest
    from mmdet.models.dense_heads import SSDHead
    model = _build_light_ssd()
    head_cfg = dict(Config.fromfile(f'{REPO}/{SSD_CFG}').model.bbox_head)
    head_cfg.pop('type')
    head = SSDHead(**head_cfg).eval()
    feats = [torch.rand(1, c, s, s) for c, s in zip((64, 64, 128, 64), (20, 10, 5, 3))]
    meta = [dict(img_shape=(160, 160), scale_factor=(1., 1.))]
    cls_scores, bbox_preds = head(feats)
    if hasattr(head, 'loss_cls'):
        pytest.skip('this mmdet SSDHead defines loss_cls: SSDHeadCompat is no longer needed')
    with pytest.raises(AttributeError, match='loss_cls'):
        head.predict_by_feat(cls_scores, bbox_preds, batch_img_metas=meta, cfg=model.bbox_head.test_cfg,
                             rescale=False)
    model.bbox_head.eval()
    res = model.bbox_head.predict_by_feat(cls_scores, bbox_preds, batch_img_metas=meta, rescale=False)
    assert len(res) == 1
