"""tools/model_converters/psconv2mmext.py and hbonet2mmext.py on state dicts built in the released key layouts
(shared/docs/references/backbones.md 3.1 and 4.3): strict loading into mmpretrain classifiers, same logits."""
import importlib.util
import os.path as osp
from collections import OrderedDict

import pytest
import torch
import torch.nn as nn
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS

from mmext.backbones import HBONet, PSResNet, PSResNeXt
from mmext.ops import psconv_mask
from tests.conftest import REPO


def _load_tool(name):
    spec = importlib.util.spec_from_file_location(name, osp.join(REPO, f'tools/model_converters/{name}.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


psconv2mmext = _load_tool('psconv2mmext')
hbonet2mmext = _load_tool('hbonet2mmext')
GEN = torch.Generator().manual_seed(0)


@pytest.fixture(autouse=True)
def _mmpretrain_scope():
    init_default_scope('mmpretrain')


def _released_state(model: nn.Module, fc_in: int, fc_name: str, mask_fn=None) -> 'OrderedDict[str, torch.Tensor]':
    """Random tensors under the module names of ``model`` (the release's names) plus the release's classifier."""
    sd = OrderedDict()
    for k, v in model.state_dict().items():
        if v.dtype.is_floating_point:
            v = torch.rand(v.shape, generator=GEN) + 0.5 if k.endswith(('running_var', 'bn1.weight')) else \
                torch.randn(v.shape, generator=GEN) * 0.1
        sd[k] = v
    if mask_fn is not None:
        for k in sd:
            if k.endswith('conv2.conv.weight'):
                sd[k] = sd[k].masked_fill(mask_fn(sd[k]), 0.0)  # the release zeroes (and freezes) masked weights
    sd[f'{fc_name}.weight'] = torch.randn(10, fc_in, generator=GEN) * 0.01
    sd[f'{fc_name}.bias'] = torch.zeros(10)
    return sd


def _classifier(backbone: dict, in_channels: int):
    return MODELS.build(dict(type='ImageClassifier', backbone=backbone, neck=dict(type='GlobalAveragePooling'),
                             head=dict(type='LinearClsHead', num_classes=10, in_channels=in_channels))).eval()


def _square_mask(release_compat: bool, groups: int):
    return lambda w: psconv_mask(w.shape[0], w.shape[0], 3, groups, 4, release_compat)


def test_psresnet_release_layout_to_compact():
    ref = PSResNet(depth=50, base_channels=16, weight_layout='release').eval()
    sd = _released_state(ref, 512, 'fc', _square_mask(False, 1))
    # the release's layout (reference 3.1): dense conv [C, C, 3, 3], the group convs [C, C/4, 3, 3]
    assert sd['layer1.0.conv2.conv.weight'].shape == (16, 16, 3, 3)
    assert sd['layer1.0.conv2.gwconv.weight'].shape == sd['layer1.0.conv2.gwconv_shift.weight'].shape == (16, 4, 3, 3)
    ckpt = {'state_dict': OrderedDict(('module.' + k, v) for k, v in sd.items())}
    out, layout = psconv2mmext.convert_with_layout(ckpt)
    assert layout == 'compact'
    assert out['backbone.layer1.0.conv2.conv_rest.weight'].shape == (16, 8, 3, 3)
    model = _classifier(dict(type='PSResNet', depth=50, base_channels=16), 512)
    model.load_state_dict(out, strict=True)
    ref.load_state_dict({k: v for k, v in sd.items() if not k.startswith('fc.')}, strict=True)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        expected = nn.functional.linear(ref(x)[0].mean((2, 3)), sd['fc.weight'], sd['fc.bias'])
        torch.testing.assert_close(model(x, mode='tensor'), expected, rtol=1e-4, atol=1e-5)
    # forcing the release layout keeps the keys as released
    rel, _ = psconv2mmext.convert_with_layout(sd, layout='release')
    assert 'backbone.layer1.0.conv2.conv.weight' in rel and 'head.fc.weight' in rel


def test_psresnext_buggy_mask_weights_keep_release_layout():
    kw = dict(depth=50, groups=2, base_width=16, base_channels=16, weight_layout='release', release_compat=True)
    ref = PSResNeXt(**kw).eval()
    sd = _released_state(ref, 512, 'fc', _square_mask(True, 2))  # groups == parts would hide the bug (i + 4j == 4j + i)
    out, layout = psconv2mmext.convert_with_layout(sd)
    assert layout == 'release'  # weights under the correct mask are non-zero: compacting would drop them
    model = _classifier(dict(type='PSResNeXt', **kw), 512)
    model.load_state_dict(out, strict=True)
    ref.load_state_dict({k: v for k, v in sd.items() if not k.startswith('fc.')}, strict=True)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        expected = nn.functional.linear(ref(x)[0].mean((2, 3)), sd['fc.weight'], sd['fc.bias'])
        torch.testing.assert_close(model(x, mode='tensor'), expected, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match=r'layer1.0.conv2.conv.weight: \d+ non-zero weights where the PSConv mask'):
        psconv2mmext.convert_with_layout(sd, layout='compact')


def test_psconv_converter_rejects_other_checkpoints():
    with pytest.raises(ValueError, match='not a PSConv checkpoint'):
        psconv2mmext.convert({'conv1.weight': torch.zeros(1), 'fc.weight': torch.zeros(1)})
    with pytest.raises(ValueError, match="layout must be 'auto', 'compact' or 'release'"):
        psconv2mmext.convert_with_layout({}, layout='dense')


def test_hbonet_release_state_dict_converts():
    backbone = HBONet(0.25).eval()
    sd = _released_state(backbone, 1600, 'classifier')
    # module names and shapes of the release's HBONet(width_mult=0.25) (models/imagenet/hbonet.py)
    facts = {'features.0.0.weight': (8, 3, 3, 3), 'features.1.conv.0.weight': (8, 1, 3, 3),
             'features.1.conv.3.weight': (6, 8, 1, 1), 'features.2.conv.0.weight': (6, 1, 5, 5),
             'features.2.conv.2.weight': (12, 6, 1, 1), 'features.2.conv.5.weight': (12, 1, 3, 3),
             'features.2.conv.8.weight': (5, 12, 1, 1), 'features.2.upconv.0.weight': (5, 1, 5, 5),
             'features.3.conv.9.running_var': (9, ), 'features.15.0.weight': (36, 72, 1, 1),
             'conv.0.weight': (1600, 100, 1, 1), 'classifier.weight': (10, 1600)}
    for k, shape in facts.items():
        assert tuple(sd[k].shape) == shape, k
    assert not any(k.startswith('features.3.upconv') for k in sd)  # 2x block with stride 2: no upconv
    out = hbonet2mmext.convert({'state_dict': OrderedDict(('module.' + k, v) for k, v in sd.items())})
    model = _classifier(dict(type='HBONet', widen_factor=0.25), 1600)
    model.load_state_dict(out, strict=True)
    backbone.load_state_dict({k: v for k, v in sd.items() if not k.startswith('classifier.')}, strict=True)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        expected = nn.functional.linear(backbone(x)[0].mean((2, 3)), sd['classifier.weight'], sd['classifier.bias'])
        torch.testing.assert_close(model(x, mode='tensor'), expected, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match='not an HBONet checkpoint'):
        hbonet2mmext.convert({'features.0.0.weight': torch.zeros(1)})
