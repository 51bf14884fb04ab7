"""tools/model_converters/kw2mmext.py on a KW-MobileNetV2 1/2x state dict in the released ``KW1d2x_MobileNetV2``
layout (one manager: backbone warehouses 0-8, the KWLinear classifier's Conv1d warehouse ``[n, c_out, c_in, 1]`` as
number 9; classifier keys ``classifier.1.conv.*``): strict loading, and logits equal to the released KWLinear formula
computed from the source tensors."""
import importlib.util
import os.path as osp
from collections import OrderedDict

import pytest
import torch
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS

from tests.conftest import REPO

_spec = importlib.util.spec_from_file_location('kw2mmext', osp.join(REPO, 'tools/model_converters/kw2mmext.py'))
kw2mmext = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(kw2mmext)

CLASSES = 10


@pytest.fixture(autouse=True)
def _mmpretrain_scope():
    init_default_scope('mmpretrain')


def _model() -> torch.nn.Module:
    return MODELS.build(
        dict(type='ImageClassifier', backbone=dict(type='KWMobileNetV2', widen_factor=0.5, arch='0.5x'),
             neck=dict(type='GlobalAveragePooling'),
             head=dict(type='KWLinearClsHead', num_classes=CLASSES, in_channels=1280))).eval()


def _released(seed: int) -> 'OrderedDict[str, torch.Tensor]':
    """A random state dict in the released key layout (module names of ``features.*`` are the released ones)."""
    torch.manual_seed(seed)
    sd = OrderedDict()
    for k, v in _model().state_dict().items():
        v = v + 0.05 * torch.randn_like(v) if v.is_floating_point() and 'running_var' not in k else v
        if k.startswith('backbone.'):
            sd[k[len('backbone.'):]] = v
        elif k == 'head.warehouse_manager.weights.0':
            sd['warehouse_manager.weights.9'] = v.unsqueeze(-1)  # KWLinear wraps a KWConv1d
        else:
            assert k.startswith('head.fc.'), k
            sd['classifier.1.conv.' + k[len('head.fc.'):]] = v  # classifier = Sequential(Dropout, KWLinear)
    return sd


def test_released_layout_facts():
    """Shapes the released code gives (worked out from models/kw1d2x_mobilenetv2.py for width 0.5, 10 classes)."""
    sd = _released(0)
    assert sd['features.1.conv.1.weight'].shape == (8, 16, 1, 1)  # static pw-linear of stage 1
    assert sd['features.15.conv.0.0.attention.fc1.weight'].shape == (16, 80)  # KW pw of stage 6, hidden >= 16
    assert sd['features.15.conv.0.0.attention.fc2.weight'].shape == (4 * 7, 16)  # 4 mixtures x (6 cells + zero)
    assert sd['warehouse_manager.weights.6'].shape == (6, 240, 40, 1, 1)
    assert sd['warehouse_manager.weights.9'].shape == (20, CLASSES, 32, 1)
    assert sd['classifier.1.conv.attention.fc2.weight'].shape == (40 * 21, 40)
    assert len([k for k in sd if k.startswith('warehouse_manager.')]) == 10


def test_half_checkpoint_converts_and_matches():
    released = _released(0)
    assert kw2mmext.detect_arch(released) == 'mobilenet_v2_kwlinear'
    converted = kw2mmext.convert({'model': released, 'epoch': 149})
    assert converted['head.warehouse_manager.weights.0'].shape == (20, CLASSES, 32)
    torch.manual_seed(1)
    model = _model()
    model.load_state_dict(converted, strict=True)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        f = model.neck(model.backbone(x))[-1]
        logits = model.head((f, ))
    # the released KWLinear at tau = 0 from the source tensors: CAF attention over 20 cells + the zero cell
    p = 'classifier.1.conv.'
    cells = released['warehouse_manager.weights.9'][..., 0]
    bn = {k: released[p + 'attention.norm1.' + k] for k in ('weight', 'bias', 'running_mean', 'running_var')}
    for b in range(2):
        h = released[p + 'attention.fc1.weight'] @ f[b]
        h = torch.relu((h - bn['running_mean']) / torch.sqrt(bn['running_var'] + 1e-5) * bn['weight'] + bn['bias'])
        z = (released[p + 'attention.fc2.weight'] @ h + released[p + 'attention.fc2.bias']).view(40, 21)
        a = (z / (z.abs().sum(1, keepdim=True) + 1e-3))[:, :20]
        w = torch.cat([(a[i].view(-1, 1, 1) * cells).sum(0) for i in range(40)], dim=1)  # [10, 1280]
        assert torch.allclose(logits[b], w @ f[b] + released[p + 'bias'], rtol=1e-4, atol=1e-5)


def test_half_checkpoint_bad_layout():
    released = _released(0)
    released['warehouse_manager.weights.9'] = released['warehouse_manager.weights.9'][..., 0]  # not Conv1d-shaped
    with pytest.raises(ValueError, match='expected exactly one KWLinear warehouse'):
        kw2mmext.convert(released)
