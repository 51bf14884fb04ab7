"""RON's reverse-connection neck: the 4 levels, the top-down sum, odd sizes, bad arguments."""
import pytest
import torch

from mmext.det import RONNeck


def _inputs(n=2, size=64, ch=(16, 16, 32, 32)):
    s = (size // 8, (size + 15) // 16, (size + 31) // 32, (size + 31) // 32)
    return [torch.randn(n, c, k, k) for c, k in zip(ch, s)]


@pytest.mark.parametrize('n,size', [(1, 128), (2, 64)])  # BN needs > 1 value per channel when training
def test_levels_strides_and_gradients(n, size):
    neck = RONNeck(in_channels=(16, 16, 32, 32), out_channels=8)
    neck.init_weights()
    outs = neck(_inputs(n, size))
    # strides 8, 16, 32, 64
    assert [tuple(o.shape) for o in outs] == [(n, 8, size // s, size // s) for s in (8, 16, 32, 64)]
    assert all((o >= 0).all() for o in outs), 'every level ends with a ReLU'
    sum(o.sum() for o in outs).backward()
    assert all(p.grad is not None for p in neck.parameters())


def test_top_down_path_reaches_the_finest_level():
    torch.manual_seed(0)
    neck = RONNeck(in_channels=(4, 4, 4, 4), out_channels=4).eval()
    x = _inputs(1, 64, (4, 4, 4, 4))
    x[3].requires_grad_(True)
    neck(x)[0].sum().backward()
    assert x[3].grad.abs().sum() > 0, 'fc7 feeds conv4_3\'s level through the deconvolutions'


def test_odd_sizes_and_one_by_one_lateral():
    neck = RONNeck(in_channels=(8, 8, 8, 8), out_channels=8, lateral_kernel_sizes=(3, 3, 1))
    # 300x300 with ceil-mode pools: conv4_3 38, conv5_3 19, fc6/fc7 10; conv7 5
    x = [torch.randn(1, 8, s, s) for s in (38, 19, 10, 10)]
    assert [o.shape[-1] for o in neck(x)] == [38, 19, 10, 5]
    assert neck.lateral_convs[2].conv.kernel_size == (1, 1)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match='in_channels must give 4 values'):
        RONNeck(in_channels=(512, 1024))
    with pytest.raises(ValueError, match='lateral_kernel_sizes'):
        RONNeck(lateral_kernel_sizes=2)
    with pytest.raises(ValueError, match='expected 4 inputs'):
        RONNeck(in_channels=(4, 4, 4, 4), out_channels=4)(_inputs(1, 64, (4, 4, 4, 4))[:3])
    # a wrong in_channels is caught at the first forward, naming the input, the configured and the actual value
    with pytest.raises(ValueError, match=r'in_channels gives 8 channels for fc6, but the input has 4'):
        RONNeck(in_channels=(4, 4, 8, 4), out_channels=4)(_inputs(1, 64, (4, 4, 4, 4)))


def test_top_conv_gets_the_gaussian_init():
    """rpn_conv7 is gaussian(0.01) in the release; mmengine would leave ConvModule's Kaiming init on it."""
    torch.manual_seed(0)
    neck = RONNeck(in_channels=(64, 64, 128, 128), out_channels=64)
    neck.init_weights()
    for conv in [neck.top_conv.conv] + [m.conv for m in neck.lateral_convs]:
        assert abs(conv.weight.std().item() - 0.01) < 0.001, conv
    assert abs(neck.top_conv.conv.weight.mean().item()) < 0.001
