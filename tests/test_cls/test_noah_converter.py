"""tools/model_converters/noah2mmext.py on state dicts built in the authors' key layout (torchvision ResNet and
MobileNetV2 bodies, timm DeiT names, ``head.query``/``head.value``): strict loading and equal outputs."""
import argparse
import importlib.util
import os.path as osp
from collections import OrderedDict

import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS

from mmext.utils import CheckpointSafetyError, safe_load
from tests.conftest import REPO
from tests.test_cls.noah_reference import noah_reference

_spec = importlib.util.spec_from_file_location('noah2mmext',
                                               osp.join(REPO, 'tools/model_converters/noah2mmext.py'))
noah2mmext = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(noah2mmext)


@pytest.fixture(autouse=True)
def _mmpretrain_scope():
    """Build in mmpretrain's scope whatever scope an earlier test left behind."""
    init_default_scope('mmpretrain')


def _authors_head(channels: int, classes: int, heads: int, key_ratio: float) -> OrderedDict:
    ck = int(channels * key_ratio)
    cv = channels - ck
    g = torch.Generator().manual_seed(0)
    return OrderedDict([
        ('head.query.weight', torch.randn(heads * classes, ck // heads, 1, 1, generator=g) * 0.1),
        ('head.query.bias', torch.randn(heads * classes, generator=g)),
        ('head.value.weight', torch.randn(heads * classes, cv // heads, 1, 1, generator=g) * 0.1),
        ('head.value.bias', torch.randn(heads * classes, generator=g)),
    ])


def _randomize_bn(module: torch.nn.Module) -> None:
    g = torch.Generator().manual_seed(1)
    for m in module.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=g) * 0.1)


def _mmext_model(backbone: dict, channels: int, heads: int, key_ratio: float) -> torch.nn.Module:
    return MODELS.build(dict(type='ImageClassifier', backbone=backbone, neck=None,
                             head=dict(type='NOAHHead', num_classes=5, in_channels=channels, head_num=heads,
                                       key_ratio=key_ratio))).eval()


def _check(body, authors: OrderedDict, model, channels, heads, key_ratio, size=64):
    converted = noah2mmext.convert(authors)
    model.load_state_dict(converted, strict=True)
    x = torch.randn(2, 3, size, size)
    with torch.no_grad():
        expected = noah_reference(body(x), authors['head.query.weight'], authors['head.query.bias'],
                                  authors['head.value.weight'], authors['head.value.bias'], heads, key_ratio)
        out = model(x, mode='tensor')
    torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-4)


def test_resnet18_checkpoint_loads_and_matches():
    from torchvision.models import resnet18
    tv = resnet18()
    _randomize_bn(tv)
    tv.eval()
    authors = OrderedDict((k, v) for k, v in tv.state_dict().items() if not k.startswith('fc.'))
    authors.update(_authors_head(512, 5, 4, 0.5))
    assert noah2mmext.detect_arch(authors) == 'resnet'
    body = torch.nn.Sequential(*list(tv.children())[:-2])  # up to layer4, as the authors' ResNet before NOAH
    model = _mmext_model(dict(type='ResNet', depth=18, out_indices=(3, )), 512, 4, 0.5)
    _check(body, authors, model, 512, 4, 0.5)


def test_mobilenet_v2_checkpoint_loads_and_matches():
    from torchvision.models import mobilenet_v2
    tv = mobilenet_v2(width_mult=0.5)  # same module layout as the authors' MobileNetV2 (features.N)
    _randomize_bn(tv)
    tv.eval()
    authors = OrderedDict((k, v) for k, v in tv.state_dict().items() if not k.startswith('classifier.'))
    authors.update(_authors_head(1280, 5, 8, 0.25))
    assert noah2mmext.detect_arch(authors) == 'mobilenet_v2'
    model = _mmext_model(dict(type='MobileNetV2', widen_factor=0.5), 1280, 8, 0.25)
    _check(tv.features, authors, model, 1280, 8, 0.25)


def _authors_deit(dim: int, depth: int, patches: int, patch: int) -> OrderedDict:
    g = torch.Generator().manual_seed(2)

    def rnd(*shape):
        return torch.randn(*shape, generator=g) * 0.2

    sd = OrderedDict([('pos_embed', rnd(1, patches, dim)), ('patch_embed.proj.weight', rnd(dim, 3, patch, patch)),
                      ('patch_embed.proj.bias', rnd(dim))])
    for i in range(depth):
        b = f'blocks.{i}.'
        sd.update([(b + 'norm1.weight', 1 + rnd(dim)), (b + 'norm1.bias', rnd(dim)),
                   (b + 'attn.qkv.weight', rnd(3 * dim, dim)), (b + 'attn.qkv.bias', rnd(3 * dim)),
                   (b + 'attn.proj.weight', rnd(dim, dim)), (b + 'attn.proj.bias', rnd(dim)),
                   (b + 'norm2.weight', 1 + rnd(dim)), (b + 'norm2.bias', rnd(dim)),
                   (b + 'mlp.fc1.weight', rnd(4 * dim, dim)), (b + 'mlp.fc1.bias', rnd(4 * dim)),
                   (b + 'mlp.fc2.weight', rnd(dim, 4 * dim)), (b + 'mlp.fc2.bias', rnd(dim))])
    sd.update([('norm.weight', 1 + rnd(dim)), ('norm.bias', rnd(dim))])
    return sd


def _authors_deit_forward(sd, x, dim, depth, heads, patch):
    """The authors' NOAH-DeiT trunk written out (timm names): patch embed, blocks, final norm -> (B, C, L, 1)."""
    x = F.conv2d(x, sd['patch_embed.proj.weight'], sd['patch_embed.proj.bias'], stride=patch)
    x = x.flatten(2).transpose(1, 2) + sd['pos_embed']
    b, n, _ = x.shape
    for i in range(depth):
        p = f'blocks.{i}.'
        h = F.layer_norm(x, (dim, ), sd[p + 'norm1.weight'], sd[p + 'norm1.bias'], eps=1e-6)
        qkv = F.linear(h, sd[p + 'attn.qkv.weight'], sd[p + 'attn.qkv.bias'])
        q, k, v = qkv.reshape(b, n, 3, heads, dim // heads).permute(2, 0, 3, 1, 4)
        attn = (q @ k.transpose(-2, -1) * (dim // heads)**-0.5).softmax(-1)
        h = (attn @ v).transpose(1, 2).reshape(b, n, dim)
        x = x + F.linear(h, sd[p + 'attn.proj.weight'], sd[p + 'attn.proj.bias'])
        h = F.layer_norm(x, (dim, ), sd[p + 'norm2.weight'], sd[p + 'norm2.bias'], eps=1e-6)
        h = F.linear(F.gelu(F.linear(h, sd[p + 'mlp.fc1.weight'], sd[p + 'mlp.fc1.bias'])),
                     sd[p + 'mlp.fc2.weight'], sd[p + 'mlp.fc2.bias'])
        x = x + h
    x = F.layer_norm(x, (dim, ), sd['norm.weight'], sd['norm.bias'], eps=1e-6)
    return x.transpose(1, 2).unsqueeze(-1)


def test_deit_checkpoint_loads_and_matches():
    dim, depth, heads, patch, size = 32, 2, 2, 8, 32
    authors = _authors_deit(dim, depth, (size // patch)**2, patch)
    authors.update(_authors_head(dim, 5, 4, 0.5))
    assert noah2mmext.detect_arch(authors) == 'deit'
    arch = dict(embed_dims=dim, num_layers=depth, num_heads=heads, feedforward_channels=4 * dim)
    model = _mmext_model(dict(type='VisionTransformer', arch=arch, img_size=size, patch_size=patch,
                              with_cls_token=False, out_type='featmap'), dim, 4, 0.5)
    _check(lambda x: _authors_deit_forward(authors, x, dim, depth, heads, patch), authors, model, dim, 4, 0.5,
           size=size)


def test_unwrap_and_refusals():
    head = _authors_head(32, 5, 4, 0.5)
    for ckpt in (dict(state_dict=head), dict(model=head, epoch=3), head):
        assert list(noah2mmext.unwrap_state_dict(ckpt)) == list(head)
    prefixed = OrderedDict(('module.' + k, v) for k, v in head.items())
    assert list(noah2mmext.unwrap_state_dict(dict(state_dict=prefixed))) == list(head)
    with pytest.raises(ValueError, match='not a NOAH checkpoint'):
        noah2mmext.convert(OrderedDict(conv1=torch.zeros(1)))
    with pytest.raises(ValueError, match='MobileNetV3'):
        noah2mmext.convert(OrderedDict((k.replace('head.', 'classifier.'), v) for k, v in head.items()))
    with pytest.raises(ValueError, match='pre_logits'):
        noah2mmext.convert(OrderedDict(head, **{'pre_logits.fc.weight': torch.zeros(1)}))
    with pytest.raises(ValueError, match='unknown NOAH backbone layout'):
        noah2mmext.convert(OrderedDict(head, **{'stage1.0.weight': torch.zeros(1)}))


def test_cli_loads_weights_only(tmp_path):
    from torchvision.models import resnet18
    authors = OrderedDict((k, v) for k, v in resnet18().state_dict().items() if not k.startswith('fc.'))
    authors.update(_authors_head(512, 5, 4, 0.5))
    src, dst = str(tmp_path / 'noah_r18.pth.tar'), str(tmp_path / 'out.pth')
    # the authors' training scripts may store their argparse namespace beside the weights
    torch.save(dict(state_dict=authors, epoch=100, args=argparse.Namespace(arch='resnet18', lr=0.1)), src)
    noah2mmext.main([src, dst])
    out = safe_load(dst)['state_dict']
    assert out.keys() == noah2mmext.convert(authors).keys()
    assert torch.equal(out['backbone.layer4.1.conv2.weight'], authors['layer4.1.conv2.weight'])
    # a pickled callable is refused, not executed
    evil = str(tmp_path / 'evil.pth')
    torch.save(dict(state_dict=authors, hook=print), evil)
    with pytest.raises(CheckpointSafetyError):
        noah2mmext.main([evil, str(tmp_path / 'never.pth')])
