"""HyperNet: backbone outputs, Hyper Feature neck, proposal module (top-k, NMS, chunked scoring), detector modes."""
import copy

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData

from mmext.backbones import RONVGG, convert_vgg_to_ronvgg
from mmext.det import HyperFeatureNeck, HyperNetBBoxHead, HyperNetRPNHead, RoIPoolExtractor
from tests.registry_examples.hypernet import TINY_ROI_LAYER, tiny_hypernet

VGG16_CONV_PARAMS = 14_714_688  # conv1_1 ... conv5_3 of torchvision's vgg16


@pytest.fixture(autouse=True)
def _mmdet_scope():
    init_default_scope('mmdet')


def _samples(n=2, size=64, with_gt=(True, False)):
    samples = []
    for i in range(n):
        s = DetDataSample(metainfo=dict(img_shape=(size, size), ori_shape=(size, size), pad_shape=(size, size),
                                        batch_input_shape=(size, size), scale_factor=(1., 1.)))
        gt = InstanceData()
        if with_gt[i % len(with_gt)]:
            gt.bboxes = torch.tensor([[4., 6., 30., 40.], [20., 24., 60., 58.]])
            gt.labels = torch.tensor([0, 2])
        else:  # an image with no ground truth
            gt.bboxes = torch.zeros((0, 4))
            gt.labels = torch.zeros(0, dtype=torch.long)
        s.gt_instances = gt
        samples.append(s)
    return samples


def _build(cfg):
    model = MODELS.build(cfg)
    model.init_weights()
    return model


# ------------------------------------------------------------------------------------------------- backbone
def test_ronvgg_hyper_outputs_and_param_count():
    with torch.device('meta'):
        full_width = RONVGG(fc_type=None, out_names=('conv1_2', 'conv3_3', 'conv5_3'), init_cfg=None)
    assert sum(p.numel() for p in full_width.parameters()) == VGG16_CONV_PARAMS
    assert full_width.out_channels == (64, 256, 512)
    model = RONVGG(fc_type=None, widen_factor=0.125, out_names=('conv1_2', 'conv3_3', 'conv5_3'))
    outs = model(torch.randn(1, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(1, 8, 64, 64), (1, 32, 16, 16), (1, 64, 4, 4)]
    # the default (RON) interface is unchanged
    assert RONVGG(widen_factor=0.125).out_channels == (64, 64, 128, 128)


def test_ronvgg_bad_out_names_and_converter_without_fc():
    with pytest.raises(ValueError, match='out_names'):
        RONVGG(fc_type=None, out_names=('conv3_3', 'fc6'))
    with pytest.raises(ValueError, match='out_names'):
        RONVGG(out_names=('conv5_3', 'conv1_2'))
    with pytest.raises(ValueError, match='out_indices'):
        RONVGG(fc_type=None)  # the default out_indices include fc6 / fc7
    with pytest.raises(ValueError, match='frozen_stages'):
        RONVGG(fc_type=None, out_indices=(1, ), frozen_stages=6)
    target = RONVGG(fc_type=None, out_names=('conv1_2', 'conv3_3', 'conv5_3'), widen_factor=0.0625)
    src = {f'features.{k}': v.clone() for k, v in target.features.state_dict().items()}
    src['classifier.0.weight'] = torch.zeros(8, 32 * 7 * 7)  # torchvision fc6 / fc8: dropped
    src['classifier.6.weight'] = torch.zeros(10, 8)
    converted = convert_vgg_to_ronvgg(src, fc_type=None)
    assert set(converted) == set(src) - {'classifier.0.weight', 'classifier.6.weight'}
    target.load_state_dict(converted, strict=True)


# ------------------------------------------------------------------------------------------------- neck
def test_neck_stride_channels_and_cropping():
    neck = HyperFeatureNeck(in_channels=(4, 16, 32), branch_channels=42)
    assert neck.out_channels == 126
    backbone = RONVGG(fc_type=None, widen_factor=0.0625, out_names=('conv1_2', 'conv3_3', 'conv5_3'))
    for size in (64, 72):  # 72 is not a multiple of 16: the deconvolved conv5 map (20) is cropped to 18
        (out, ) = neck(backbone(torch.randn(2, 3, size, size)))
        assert tuple(out.shape) == (2, 126, -(-size // 4), -(-size // 4))
        assert torch.isfinite(out).all()
    out.sum().backward()
    assert all(p.grad is not None for p in neck.parameters())
    assert isinstance(neck.resamples[0], torch.nn.MaxPool2d) and neck.resamples[0].kernel_size == 4
    assert isinstance(neck.resamples[2], torch.nn.ConvTranspose2d) and neck.resamples[2].stride == (4, 4)
    bilinear = HyperFeatureNeck(in_channels=(4, 16, 32), branch_channels=(2, 3, 4), upsample='bilinear',
                                lrn_cfg=None)
    assert bilinear(backbone(torch.randn(1, 3, 64, 64)))[0].shape[1] == 9


def test_neck_bad_arguments_are_named():
    neck = HyperFeatureNeck(in_channels=(4, 16, 32))
    with pytest.raises(ValueError, match=r'input 1 has 8 channels but in_channels\[1\]=16'):
        neck([torch.zeros(1, 4, 16, 16), torch.zeros(1, 8, 4, 4), torch.zeros(1, 32, 1, 1)])
    with pytest.raises(ValueError, match='branch_channels'):
        HyperFeatureNeck(in_channels=(4, 16, 32), branch_channels=(1, 2))
    with pytest.raises(ValueError, match='upsample'):
        HyperFeatureNeck(upsample='nearest')


# ------------------------------------------------------------------------------------------------- proposals
def _rpn_head(**kwargs):
    cfg = dict(in_channels=6, fc_channels=16, roi_layer=TINY_ROI_LAYER,
               anchor_generator=dict(type='AnchorGenerator', strides=[8], ratios=[0.5, 1.0, 2.0], scales=[2, 4]),
               test_cfg=dict(nms_pre=300, max_per_img=7, nms=dict(type='nms', iou_threshold=0.7), min_bbox_size=0))
    cfg.update(kwargs)
    head = HyperNetRPNHead(**cfg)
    head.init_weights()
    for p in head.parameters():  # spread the scores so that NMS and top-k have something to choose
        torch.nn.init.normal_(p, std=0.3)
    return head


@pytest.mark.parametrize('sp', [False, True])
def test_proposals_topk_nms_and_chunking(sp):
    from mmdet.structures.bbox import bbox_overlaps
    torch.manual_seed(0)
    head = _rpn_head(conv_before_pool=sp, chunk_size=50)
    feat = (torch.randn(2, 6, 16, 16), )
    samples = _samples(2)
    results = head.predict(feat, samples)
    for res in results:
        assert len(res) == 7 and res.labels.eq(0).all()
        assert (res.scores[:-1] >= res.scores[1:]).all(), 'sorted by score'
        iou = bbox_overlaps(res.bboxes, res.bboxes)
        assert (iou.triu(1) <= 0.7 + 1e-5).all(), 'NMS at 0.7'
        assert (res.bboxes >= 0).all() and (res.bboxes <= 64).all(), 'clipped to the image'
    head.chunk_size = None  # one pass over all boxes gives the same proposals
    for a, b in zip(results, head.predict(feat, samples)):
        torch.testing.assert_close(a.bboxes, b.bboxes)
        torch.testing.assert_close(a.scores, b.scores)


def test_many_initial_boxes_are_scored_in_bounded_chunks():
    """~36k initial boxes on a 600x1000 image; no RoI call ever sees more than chunk_size boxes."""
    head = _rpn_head(in_channels=4, fc_channels=8, chunk_size=4096, conv_before_pool=False,
                     anchor_generator=dict(type='AnchorGenerator', strides=[16], ratios=[0.5, 1.0, 2.0],
                                           scales=[2, 4, 8, 16, 32]),
                     test_cfg=dict(nms_pre=6000, max_per_img=100, nms=dict(type='nms', iou_threshold=0.7),
                                   min_bbox_size=0))
    meta = dict(img_shape=(600, 1000), pad_shape=(608, 1008), batch_input_shape=(608, 1008), scale_factor=(1., 1.))
    boxes, flags = head.initial_boxes([meta], 'cpu')
    assert len(boxes) == 38 * 63 * 15 == 35_910 and flags[0].sum() == 38 * 63 * 15
    calls = []
    head.roi_extractor.register_forward_hook(lambda m, args, out: calls.append(len(args[1])))
    (res, ) = head.predict_by_feat((torch.randn(1, 4, 152, 252), ), [meta])
    assert sum(calls) == 35_910 and max(calls) <= 4096 and len(calls) == 9
    assert len(res) == 100


def test_sp_and_full_share_parameters_and_sp_pools_four_channels():
    full, sp = _rpn_head(), _rpn_head(conv_before_pool=True)
    assert [(n, p.shape) for n, p in full.named_parameters()] == [(n, p.shape) for n, p in sp.named_parameters()]
    assert full.roi_extractor.out_channels == 6 and sp.roi_extractor.out_channels == 4
    assert sp((torch.randn(1, 6, 8, 8), ))[0].shape[1] == 4
    with pytest.raises(ValueError, match='has 5 channels but in_channels=6'):
        full((torch.randn(1, 5, 8, 8), ))
    with pytest.raises(ValueError, match='num_classes must be 1'):
        HyperNetRPNHead(num_classes=3)


def test_roi_pool_extractor_is_fast_rcnn_roi_pooling_on_cpu():
    from torchvision.ops import roi_pool
    extractor = RoIPoolExtractor(roi_layer=dict(type='RoIPool', output_size=13), out_channels=3,
                                 featmap_strides=[4])
    feat = torch.randn(2, 3, 20, 20)
    rois = torch.tensor([[0., 0., 0., 40., 52.], [1., 8., 12., 79., 79.]])
    out = extractor((feat, ), rois)
    torch.testing.assert_close(out, roi_pool(feat, rois, 13, 0.25))
    # exact max over the Caffe bin of the first RoI: columns 0..10, rows 0..13 -> bin (0, 0) = rows 0-1, cols 0
    assert torch.equal(out[0, :, 0, 0], feat[0, :, 0:2, 0:1].amax(dim=(1, 2)))


@pytest.mark.cuda
def test_roi_pool_extractor_matches_mmcv_roipool_on_cuda():
    from mmcv.ops import RoIPool
    extractor = RoIPoolExtractor(roi_layer=dict(type='RoIPool', output_size=13), out_channels=3,
                                 featmap_strides=[4]).cuda()
    feat = torch.randn(2, 3, 20, 20, device='cuda')
    rois = torch.tensor([[0., 0., 0., 40., 52.], [1., 8., 12., 79., 79.]], device='cuda')
    torch.testing.assert_close(extractor((feat, ), rois), RoIPool(13, 0.25)(feat, rois))


# ------------------------------------------------------------------------------------------------- detector
@pytest.mark.parametrize('sp', [False, True])
def test_detector_all_modes_gradients_and_empty_gt(sp):
    torch.manual_seed(0)
    model = _build(tiny_hypernet(conv_before_pool=sp))
    inputs = torch.randn(2, 3, 64, 64)
    samples = _samples(2)  # the second image has no ground truth
    model.train()
    losses = model.loss(inputs, copy.deepcopy(samples))
    assert {'loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'loss_bbox'} <= set(losses)
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total)
    total.backward()
    assert [n for n, p in model.named_parameters() if p.grad is None] == []
    # batch 1 in train mode, an image with no ground truth
    model.zero_grad()
    losses = model.loss(inputs[1:], copy.deepcopy(samples[1:]))
    assert all(torch.isfinite(v).all() for k, v in losses.items() if 'loss' in k)
    model.eval()
    with torch.no_grad():
        preds = model.predict(inputs, copy.deepcopy(samples))
        ((cls_score, bbox_pred), ) = model(inputs, copy.deepcopy(samples), mode='tensor')
    assert len(preds) == 2 and all(len(p.pred_instances) <= 10 for p in preds)
    assert cls_score.shape == (20, 4) and bbox_pred.shape == (20, 12)  # 10 proposals x 2 images, class-specific


def test_proposal_detector_returns_proposals():
    model = _build(tiny_hypernet(detector='TwoStageProposalDetector')).eval()
    with torch.no_grad():
        preds = model.predict(torch.randn(1, 3, 64, 64), _samples(1))
    assert len(preds[0].pred_instances) == 10 and preds[0].pred_instances.labels.eq(0).all()


def test_wrong_in_channels_between_neck_and_heads_name_both_numbers():
    cfg = tiny_hypernet()
    cfg.rpn_head.in_channels = 10
    with pytest.raises(ValueError, match=r'neck.out_channels=12 but rpn_head.in_channels=10'):
        MODELS.build(cfg)
    cfg = tiny_hypernet()
    cfg.roi_head.bbox_roi_extractor.out_channels = 9
    with pytest.raises(ValueError, match=r'neck.out_channels=12 but roi_head.bbox_roi_extractor.out_channels=9'):
        MODELS.build(cfg)
    cfg = tiny_hypernet()
    cfg.roi_head.bbox_head.in_channels = 7
    with pytest.raises(ValueError, match=r'out_channels=12 but roi_head.bbox_head.in_channels=7'):
        MODELS.build(cfg)
    cfg = tiny_hypernet()
    cfg.neck.in_channels = (4, 16, 64)
    with pytest.raises(ValueError, match=r'backbone.out_channels=\(4, 16, 32\) but neck.in_channels=\(4, 16, 64\)'):
        MODELS.build(cfg)


def test_bbox_head_dropout_only_in_training():
    head = HyperNetBBoxHead(in_channels=12, conv_out_channels=6, fc_out_channels=16, num_classes=3)
    x = torch.randn(5, 12, 13, 13)
    head.train()
    assert not torch.equal(head(x)[0], head(x)[0])
    head.eval()
    assert torch.equal(head(x)[0], head(x)[0])
    with pytest.raises(ValueError, match='dropout_ratio'):
        HyperNetBBoxHead(in_channels=12, conv_out_channels=6, fc_out_channels=16, dropout_ratio=1.0)
