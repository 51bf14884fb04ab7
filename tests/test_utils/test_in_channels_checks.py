"""A wrong ``in_channels`` in a head or connector is reported at the first forward with the key, the configured
value and the actual one (not as a shape error from inside torch)."""
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmext.utils.input_checks import check_in_channels
from tests.conftest import REPO
from tests.registry_examples import EXAMPLES


@pytest.mark.parametrize('name,scope,x,actual', [
    ('DistillConvConnector', 'mmdet', torch.randn(2, 6, 8, 8), 6),
    ('NORMFeatureTransform', 'mmpretrain', torch.randn(2, 6, 8, 8), 6),
    ('ResNetAuxClassifier', 'mmpretrain', torch.randn(2, 6, 8, 8), 6),
    ('KWLinearClsHead', 'mmpretrain', (torch.randn(2, 64), ), 64),
])
def test_wrong_in_channels_named_at_first_forward(name, scope, x, actual):
    from mmext.registry import get_registry
    init_default_scope(scope)
    cfg = EXAMPLES[name]('')
    module = get_registry(scope).build(cfg)
    with pytest.raises(ValueError, match=rf"{name}: in_channels={cfg['in_channels']} in the config, but the input "
                       rf'.* has {actual} channels; set in_channels={actual}'):
        module(x)


def test_right_in_channels_checked_once():
    from mmext.registry import get_registry
    init_default_scope('mmdet')
    conn = get_registry('mmdet').build(EXAMPLES['DistillConvConnector'](''))
    assert conn(torch.randn(2, 8, 4, 4)).shape == (2, 16, 4, 4)
    assert conn._in_channels_checked


def test_pft_head_levels_named():
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    cfg = Config.fromfile(osp.join(REPO, 'configs/pft/pft_r18-w32_1xb4-shapes-128x128.py')).model.decode_head
    cfg.transformer_decoder.num_layers = 1
    cfg.pixel_decoder.encoder.num_layers = 1
    head = MODELS.build(cfg)
    channels = list(cfg.in_channels)
    feats = [torch.randn(1, c, 64 // s, 64 // s) for c, s in zip(channels, (4, 8, 16, 32))]
    wrong = list(feats)
    wrong[2] = torch.randn(1, channels[2] // 2, 4, 4)
    msg = (f'PFTHead: in_channels={channels} in the config, but the inputs have [{channels[0]}, {channels[1]}, '
           f'{channels[2] // 2}, {channels[3]}] channels (in_channels[2] differ)')
    with pytest.raises(ValueError, match=re.escape(msg)):
        head(wrong)
    with pytest.raises(ValueError, match=r'lists 4 levels, but the input has 3'):
        head(feats[:3])
    head.eval()
    with torch.no_grad():
        cls, masks = head(feats)
    assert cls[-1].shape[0] == 1


def test_helper_token_inputs_and_types():
    m = torch.nn.Identity()
    with pytest.raises(TypeError, match='expected one input tensor'):
        check_in_channels(m, [torch.randn(1, 3)], 3)
    check_in_channels(m, torch.randn(1, 5, 3), 3, channel_dim=-1)
    assert m._in_channels_checked


def _levels(channels, sizes=(16, 8, 4, 2)):
    return [torch.randn(1, c, s, s) for c, s in zip(channels, sizes)]


# (registered name, scope, wrong input, configured value as printed, actual channels)
WRONG_INPUTS = [
    ('CASSemanticHead', 'mmdet', lambda: _levels([16, 16, 8, 16]), '16', 8),
    ('CASAttributeHead', 'mmdet', lambda: _levels([16, 8, 16, 16]), '16', 8),
    ('HyperNetBBoxHead', 'mmdet', lambda: torch.randn(3, 6, 13, 13), '12', 6),
    ('HyperNetRPNHead', 'mmdet', lambda: [torch.randn(1, 6, 8, 8)], '12', 6),
    ('HyperFeatureNeck', 'mmdet', lambda: _levels([4, 8, 32]), '16', 8),
    ('SSDHeadCompat', 'mmdet', lambda: _levels([16, 8], (8, 4)), '[16, 16]', 8),
    ('RONHead', 'mmdet', lambda: _levels([32, 32, 16, 32]), '32', 16),
    ('RONNeck', 'mmdet', lambda: _levels([64, 32, 128, 128], (16, 8, 4, 4)), '64', 32),
    ('NOAHHead', 'mmpretrain', lambda: (torch.randn(2, 16, 4, 4), ), '32', 16),
    ('NOAHMultiLabelClsHead', 'mmpretrain', lambda: (torch.randn(2, 16, 4, 4), ), '32', 16),
    ('MaskedFeatureProjector', 'mmdet', lambda: torch.randn(2, 4, 8, 8), '8', 4),
]


@pytest.mark.parametrize('name,scope,make_input,configured,actual', WRONG_INPUTS, ids=[w[0] for w in WRONG_INPUTS])
def test_every_head_names_in_channels_and_both_values(name, scope, make_input, configured, actual):
    """Each mmext head / neck / connector with an ``in_channels`` key: the error names the key, the configured
    value and the actual channels, instead of torch's conv shape error."""
    from mmext.registry import get_registry
    init_default_scope(scope)
    module = get_registry(scope).build(EXAMPLES[name](''))
    with pytest.raises(ValueError) as err:
        module(make_input())
    msg = str(err.value)
    assert name in msg and 'in_channels' in msg and configured in msg and str(actual) in msg, msg
    assert 'expected input' not in msg  # not torch's message
