"""Tiny models and batches shared by the distillation tests (2x3x64x64 inputs, narrow ResNets)."""
import copy
from typing import List, Optional, Tuple

import torch
from mmengine.registry import init_default_scope

import mmext  # noqa: F401  (registers the distillers)

__all__ = ['tiny_classifier', 'cls_batch', 'save_teacher', 'aux_heads', 'params_without_grad', 'loss_and_backward']


def tiny_classifier(depth: int = 18, width: int = 8, num_classes: int = 5, scope: Optional[str] = None) -> dict:
    """An mmpretrain ResNet classifier config, ``width`` stem/base channels (last stage ``8 * width``)."""
    cfg = dict(
        type='ImageClassifier',
        backbone=dict(type='ResNet', depth=depth, base_channels=width, stem_channels=width, out_indices=(3, )),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=num_classes, in_channels=8 * width * (4 if depth >= 50 else 1),
                  loss=dict(type='CrossEntropyLoss', loss_weight=1.0), topk=(1, )),
        data_preprocessor=dict(type='ClsDataPreprocessor', num_classes=num_classes, mean=[123.675, 116.28, 103.53],
                               std=[58.395, 57.12, 57.375], to_rgb=True))
    if scope is not None:
        cfg['_scope_'] = scope
    return cfg


def aux_heads(width: int = 8, num_classes: int = 5) -> List[dict]:
    """DKS-style branches after layer1..layer3 of :func:`tiny_classifier`."""
    return [
        dict(source='backbone.layer1', head=dict(type='ResNetAuxClassifier', in_channels=width,
                                                 num_classes=num_classes, stages=[(2 * width, 1, 2)])),
        dict(source='backbone.layer2', head=dict(type='ResNetAuxClassifier', in_channels=2 * width,
                                                 num_classes=num_classes, stages=[(4 * width, 1, 2)])),
        dict(source='backbone.layer3', head=dict(type='ResNetAuxClassifier', in_channels=4 * width,
                                                 num_classes=num_classes, stages=[(16 * width, 1, 2)])),
    ]


def cls_batch(batch: int = 2, size: int = 64, num_classes: int = 5, seed: int = 0) -> dict:
    """A data batch as the dataloader gives it (uint8 images, DataSamples with gt_label)."""
    from mmpretrain.structures import DataSample
    g = torch.Generator().manual_seed(seed)
    inputs = [torch.randint(0, 256, (3, size, size), generator=g, dtype=torch.uint8) for _ in range(batch)]
    samples = [DataSample().set_gt_label(int(i) % num_classes) for i in range(batch)]
    return dict(inputs=inputs, data_samples=samples)


def save_teacher(path: str, cfg: dict, seed: int = 1) -> str:
    """Build ``cfg`` in the mmpretrain scope, randomise its BN statistics and save a checkpoint like mmengine's."""
    from mmengine.registry import MODELS
    init_default_scope('mmpretrain')
    torch.manual_seed(seed)
    model = MODELS.build(copy.deepcopy(cfg))
    model.init_weights()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    torch.save(dict(state_dict=model.state_dict(), meta=dict(epoch=1)), path)
    return path


def params_without_grad(model: torch.nn.Module) -> List[str]:
    return [n for n, p in model.named_parameters() if p.requires_grad and (p.grad is None or
                                                                             not torch.isfinite(p.grad).all())]


def loss_and_backward(model, data: dict) -> Tuple[dict, torch.Tensor]:
    """Preprocess, loss forward, parse and backward, as ``train_step`` does (without the optimizer)."""
    model.train()
    batch = model.data_preprocessor(data, True)
    losses = model(**batch, mode='loss')
    total, log_vars = model.parse_losses(losses)
    total.backward()
    return losses, total
