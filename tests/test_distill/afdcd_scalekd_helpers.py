"""Tiny mmseg segmentors, Swin / ViT teachers and ResNet students for the Af-DCD and ScaleKD tests."""
import copy
from typing import Optional

import torch
from mmengine.config import ConfigDict

from tests.test_distill.helpers import tiny_classifier

__all__ = ['tiny_segmentor', 'seg_batch', 'tiny_swin', 'tiny_vit', 'tiny_resnet_student', 'save_model']


def tiny_segmentor(width: int = 8, head: str = 'ASPPHead', num_classes: int = 4, aux: bool = True,
                   scope: Optional[str] = None) -> dict:
    """DeepLabV3 (or FCN) on a dilated ResNet-18 of ``width`` base channels (c4 = 8 * width), output stride 8."""
    norm_cfg = dict(type='BN', requires_grad=True)
    decode = dict(type=head, in_channels=8 * width, in_index=3, channels=2 * width, dropout_ratio=0.1,
                  num_classes=num_classes, norm_cfg=norm_cfg, align_corners=False,
                  loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0))
    if head == 'ASPPHead':
        decode['dilations'] = (1, 12, 24, 36)
    else:
        decode.update(num_convs=1, concat_input=False)
    cfg = dict(
        type='EncoderDecoder',
        data_preprocessor=dict(type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53],
                               std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_val=0, seg_pad_val=255,
                               size=(64, 64)),
        backbone=dict(type='ResNetV1c', depth=18, base_channels=width, stem_channels=width, num_stages=4,
                      out_indices=(0, 1, 2, 3), dilations=(1, 1, 2, 4), strides=(1, 2, 1, 1), norm_cfg=norm_cfg,
                      contract_dilation=True),
        decode_head=decode,
        train_cfg=dict(), test_cfg=ConfigDict(mode='whole'))
    if aux:
        cfg['auxiliary_head'] = dict(type='FCNHead', in_channels=4 * width, in_index=2, channels=width, num_convs=1,
                                     concat_input=False, dropout_ratio=0.1, num_classes=num_classes,
                                     norm_cfg=norm_cfg, align_corners=False,
                                     loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4))
    if scope is not None:
        cfg['_scope_'] = scope
    return cfg


def seg_batch(batch: int = 2, size: int = 64, num_classes: int = 4, seed: int = 0) -> dict:
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    g = torch.Generator().manual_seed(seed)
    inputs = [torch.randint(0, 256, (3, size, size), generator=g, dtype=torch.uint8) for _ in range(batch)]
    samples = []
    for _ in range(batch):
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(data=torch.randint(0, num_classes, (1, size, size), generator=g))
        sample.set_metainfo(dict(img_shape=(size, size), ori_shape=(size, size), pad_shape=(size, size)))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def tiny_swin(embed_dims: int = 16, drop_path_rate: float = 0.5, num_classes: int = 5,
              scope: Optional[str] = None) -> dict:
    """A 4-stage Swin for 64x64 inputs (grids 16/8/4/2, window 2), outputs of stages 3 and 4."""
    cfg = dict(
        type='ImageClassifier',
        backbone=dict(type='SwinTransformer', arch=dict(embed_dims=embed_dims, depths=[1, 1, 2, 1],
                                                        num_heads=[1, 2, 2, 4]),
                      img_size=64, window_size=2, drop_path_rate=drop_path_rate, out_indices=(2, 3)),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=num_classes, in_channels=8 * embed_dims,
                  loss=dict(type='CrossEntropyLoss', loss_weight=1.0)),
        data_preprocessor=tiny_classifier()['data_preprocessor'])
    if scope is not None:
        cfg['_scope_'] = scope
    return cfg


def tiny_vit(embed_dims: int = 16, num_layers: int = 4, drop_path_rate: float = 0.5, num_classes: int = 5,
             scope: Optional[str] = None) -> dict:
    """A ViT with 16-px patches on 64x64 inputs (a 4x4 grid + cls token)."""
    cfg = dict(
        type='ImageClassifier',
        backbone=dict(type='VisionTransformer', arch=dict(embed_dims=embed_dims, num_layers=num_layers,
                                                          num_heads=2, feedforward_channels=2 * embed_dims),
                      img_size=64, patch_size=16, drop_path_rate=drop_path_rate, out_type='cls_token'),
        head=dict(type='VisionTransformerClsHead', num_classes=num_classes, in_channels=embed_dims,
                  loss=dict(type='CrossEntropyLoss', loss_weight=1.0)),
        data_preprocessor=tiny_classifier()['data_preprocessor'])
    if scope is not None:
        cfg['_scope_'] = scope
    return cfg


def tiny_resnet_student(scope: Optional[str] = None) -> dict:
    """:func:`tiny_classifier` with stages 3 and 4 out (32 @ 4x4 and 64 @ 2x2 at 64x64), CE weight 0.5."""
    cfg = tiny_classifier(scope=scope)
    cfg['backbone']['out_indices'] = (2, 3)
    cfg['head']['loss']['loss_weight'] = 0.5
    return cfg


def save_model(path: str, cfg: dict, scope: str, seed: int = 1) -> str:
    """Build ``cfg`` in ``scope``, initialise it and save an mmengine-style checkpoint."""
    from mmengine.registry import MODELS, init_default_scope
    init_default_scope(scope)
    torch.manual_seed(seed)
    model = MODELS.build(copy.deepcopy(cfg))
    model.init_weights()
    torch.save(dict(state_dict=model.state_dict(), meta=dict(iter=1)), path)
    return path
