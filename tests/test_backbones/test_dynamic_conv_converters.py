"""tools/model_converters/odconv2mmext.py and kw2mmext.py on state dicts built in the authors' key layout
(shared/docs/references/backbones.md 1.6 and 2.7): strict loading into mmpretrain classifiers and outputs equal to
the released formulas computed straight from the source tensors."""
import importlib.util
import os.path as osp
from collections import OrderedDict

import pytest
import torch
import torch.nn.functional as F
import torchvision
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS

from tests.conftest import REPO


def _load_tool(name):
    spec = importlib.util.spec_from_file_location(name, osp.join(REPO, f'tools/model_converters/{name}.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


odconv2mmext = _load_tool('odconv2mmext')
kw2mmext = _load_tool('kw2mmext')

@pytest.fixture(autouse=True)
def _mmpretrain_scope():
    """Build in mmpretrain's scope whatever scope an earlier test left behind."""
    init_default_scope('mmpretrain')
GEN = torch.Generator().manual_seed(0)


def _rand(*shape, scale=0.1):
    return torch.randn(*shape, generator=GEN) * scale


def _bn(sd, p, c, dim_suffix=''):
    sd[p + '.weight'], sd[p + '.bias'] = 1 + _rand(c), _rand(c)
    sd[p + '.running_mean'], sd[p + '.running_var'] = _rand(c), 0.5 + torch.rand(c, generator=GEN)
    sd[p + '.num_batches_tracked'] = torch.tensor(100)


def _od_keys(sd, p, cin, cout, k, kn, groups=1):
    """One released ODConv2d: weight [K,out,in/g,k,k] + attention.{fc,bn,channel_fc,filter_fc,spatial_fc,kernel_fc}."""
    a = max(int(cin * 0.0625), 16)
    sd[p + '.weight'] = _rand(kn, cout, cin // groups, k, k)
    sd[p + '.attention.fc.weight'] = _rand(a, cin, 1, 1)
    _bn(sd, p + '.attention.bn', a)
    heads = [('channel_fc', cin, True), ('filter_fc', cout, not (cin == groups == cout)),
             ('spatial_fc', k * k, k > 1), ('kernel_fc', kn, kn > 1)]
    for name, c, present in heads:
        if present:
            sd[f'{p}.attention.{name}.weight'], sd[f'{p}.attention.{name}.bias'] = _rand(c, a, 1, 1), _rand(c)


def _od_reference(sd, p, x, stride, padding, groups=1):
    """The released ODConv forward written from the source tensors (eval-mode BN, T = 1), per sample."""
    w = sd[p + '.weight']
    kn, cout, cin_g, k, _ = w.shape
    cin = cin_g * groups
    outs = []
    for b in range(x.shape[0]):
        xb = x[b:b + 1]
        h = sd[p + '.attention.fc.weight'].flatten(1) @ xb.mean(dim=(2, 3))[0]
        bn = p + '.attention.bn.'
        h = torch.relu((h - sd[bn + 'running_mean']) / torch.sqrt(sd[bn + 'running_var'] + 1e-5) *
                       sd[bn + 'weight'] + sd[bn + 'bias'])

        def head(name, default, act):
            key = f'{p}.attention.{name}.weight'
            if key not in sd:
                return default
            return act(sd[key].flatten(1) @ h + sd[f'{p}.attention.{name}.bias'])

        ca = head('channel_fc', None, torch.sigmoid)
        fa = head('filter_fc', torch.ones(cout), torch.sigmoid)
        sa = head('spatial_fc', torch.ones(k * k), torch.sigmoid).view(1, 1, k, k)
        ka = head('kernel_fc', torch.ones(1), lambda z: torch.softmax(z, 0))
        kernel = sum(ka[i] * w[i] for i in range(kn)) * sa
        y = F.conv2d(xb * ca.view(1, cin, 1, 1), kernel, None, stride, padding, 1, groups)
        outs.append(y * fa.view(1, -1, 1, 1))
    return torch.cat(outs)


def _od_resnet18_released(kn, classes):
    sd = OrderedDict()
    sd['conv1.weight'] = _rand(64, 3, 7, 7)
    _bn(sd, 'bn1', 64)
    inplanes = 64
    for i, planes in enumerate((64, 128, 256, 512)):
        for j in range(2):
            p = f'layer{i + 1}.{j}'
            stride = 2 if (i > 0 and j == 0) else 1
            _od_keys(sd, p + '.conv1', inplanes, planes, 3, kn)
            _bn(sd, p + '.bn1', planes)
            _od_keys(sd, p + '.conv2', planes, planes, 3, kn)
            _bn(sd, p + '.bn2', planes)
            if stride != 1 or inplanes != planes:
                sd[p + '.downsample.0.weight'] = _rand(planes, inplanes, 1, 1)
                _bn(sd, p + '.downsample.1', planes)
            inplanes = planes
    sd['fc.weight'], sd['fc.bias'] = _rand(classes, 512), _rand(classes)
    return sd


def _classifier(backbone, in_channels, classes):
    return MODELS.build(dict(type='ImageClassifier', backbone=backbone, neck=dict(type='GlobalAveragePooling'),
                             head=dict(type='LinearClsHead', num_classes=classes, in_channels=in_channels))).eval()


def test_odconv_resnet_checkpoint_converts_and_matches(tmp_path):
    released = _od_resnet18_released(kn=2, classes=10)
    ckpt = {'epoch': 100, 'best_acc': 73.0, 'state_dict': OrderedDict(('module.' + k, v) for k, v in released.items())}
    src, dst = str(tmp_path / 'od.pth.tar'), str(tmp_path / 'od_mmext.pth')
    torch.save(ckpt, src)
    odconv2mmext.main([src, dst])  # CLI with safe (weights-only) loading
    converted = torch.load(dst, weights_only=True)['state_dict']
    model = _classifier(dict(type='ODResNet', depth=18, kernel_num=2), 512, 10)
    model.load_state_dict(converted, strict=True)
    x = torch.randn(2, 64, 9, 9)
    with torch.no_grad():
        for p, stride in (('layer1.0.conv1', 1), ('layer2.0.conv1', 2)):
            layer = model.backbone.get_submodule(p)
            xin = torch.randn(2, layer.in_channels, 9, 9) if layer.in_channels != 64 else x
            assert torch.allclose(layer(xin), _od_reference(released, p, xin, stride, 1), rtol=1e-4, atol=1e-5), p
        feat = torch.randn(2, 512)
        assert torch.allclose(model.head.fc(feat), F.linear(feat, released['fc.weight'], released['fc.bias']))


def test_odconv_mobilenetv2_checkpoint_converts_and_matches():
    # the released OD-MobileNetV2 is torchvision's layout with ODConv2d in place of every conv but the stem
    tv = torchvision.models.mobilenet_v2(width_mult=0.5, num_classes=10).state_dict()
    released = OrderedDict()
    for k, v in tv.items():
        if k.endswith('.weight') and v.dim() == 4 and k != 'features.0.0.weight':
            cout, cin_g, kk = v.shape[0], v.shape[1], v.shape[2]
            groups = cout if cin_g == 1 else 1
            _od_keys(released, k[:-len('.weight')], cin_g * groups, cout, kk, 4, groups)
        else:
            released[k] = _rand(*v.shape) if v.is_floating_point() else v
            if k.endswith('running_var'):
                released[k] = released[k].abs() + 0.5
    converted = odconv2mmext.convert({'state_dict': released})
    model = _classifier(dict(type='ODMobileNetV2', widen_factor=0.5, kernel_num=4), 1280, 10)
    model.load_state_dict(converted, strict=True)
    with torch.no_grad():
        dw = 'features.2.conv.1.0'  # depthwise 3x3, stride 2: no filter attention
        x = torch.randn(2, model.backbone.get_submodule(dw).in_channels, 8, 8)
        assert torch.allclose(model.backbone.get_submodule(dw)(x), _od_reference(released, dw, x, 2, 1, x.shape[1]),
                              rtol=1e-4, atol=1e-5)


def _kw_resnet18_released(classes):
    """KW-ResNet-18 1x: warehouses (56,64,64) (47,128,128) (47,256,256) (27,512,512); handover layers in the
    previous stage's warehouse; attention fc1 [16, in] (no bias, BN1d), fc2 [m*(n+1), 16]."""
    n = (56, 47, 47, 27)
    cell = (64, 128, 256, 512)
    sd = OrderedDict()
    sd['conv1.weight'] = _rand(64, 3, 7, 7)
    _bn(sd, 'bn1', 64)

    def kw(p, cin, cout, k, stage):
        h = max(int(cin * 0.0625), 16)
        m = (cout // cell[stage]) * (cin // cell[stage]) * k * k
        sd[p + '.attention.fc1.weight'] = _rand(h, cin)
        _bn(sd, p + '.attention.norm1', h)
        sd[p + '.attention.fc2.weight'], sd[p + '.attention.fc2.bias'] = _rand(m * (n[stage] + 1), h), _rand(
            m * (n[stage] + 1))

    inplanes = 64
    for i, planes in enumerate((64, 128, 256, 512)):
        for j in range(2):
            p = f'layer{i + 1}.{j}'
            kw(p + '.conv1', inplanes, planes, 3, max(i - 1, 0) if j == 0 else i)
            _bn(sd, p + '.bn1', planes)
            kw(p + '.conv2', planes, planes, 3, i)
            _bn(sd, p + '.bn2', planes)
            if j == 0 and i > 0:
                kw(p + '.downsample.0', inplanes, planes, 1, i - 1)
                _bn(sd, p + '.downsample.1', planes)
            inplanes = planes
    sd['fc.weight'], sd['fc.bias'] = _rand(classes, 512), _rand(classes)
    for s in range(4):
        sd[f'warehouse_manager.weights.{s}'] = _rand(n[s], cell[s], cell[s], 1, 1)
    return sd


def _kw_reference(sd, p, x, wid, stride, padding):
    """Released KW forward at tau = 0 from the source tensors: CAF attention, cell mixtures, per-sample conv."""
    cells = sd[f'warehouse_manager.weights.{wid}']
    n, c = cells.shape[:2]
    outs = []
    for b in range(x.shape[0]):
        h = sd[p + '.attention.fc1.weight'] @ x[b].mean(dim=(1, 2))
        bn = p + '.attention.norm1.'
        h = torch.relu((h - sd[bn + 'running_mean']) / torch.sqrt(sd[bn + 'running_var'] + 1e-5) *
                       sd[bn + 'weight'] + sd[bn + 'bias'])
        z = (sd[p + '.attention.fc2.weight'] @ h + sd[p + '.attention.fc2.bias']).view(-1, n + 1)
        a = (z / (z.abs().sum(1, keepdim=True) + 1e-3))[:, :n]
        mixed = (a @ cells.view(n, -1)).view(-1, c, c)  # [m, c_out, c_in], m = (s * g_out + o) * g_in + i
        cin = x.shape[1]
        g_in = cin // c
        m = mixed.shape[0]
        g_out = m // (g_in * (9 if p.endswith(('conv1', 'conv2')) else 1))
        k = 3 if p.endswith(('conv1', 'conv2')) else 1
        cout = g_out * c
        w = torch.zeros(cout, cin, k, k)
        for idx in range(m):
            s, rest = divmod(idx, g_out * g_in)
            o, i = divmod(rest, g_in)
            w[o * c:(o + 1) * c, i * c:(i + 1) * c, s // k, s % k] = mixed[idx]
        outs.append(F.conv2d(x[b:b + 1], w, None, stride, padding))
    return torch.cat(outs)


def test_kw_resnet_checkpoint_converts_and_matches():
    released = _kw_resnet18_released(classes=10)
    converted = kw2mmext.convert({'model': released, 'epoch': 299})
    model = _classifier(dict(type='KWResNet', depth=18, cell_num_ratio=1), 512, 10)
    model.load_state_dict(converted, strict=True)
    with torch.no_grad():
        # released module order in warehouse 0: layer1.0.conv1/conv2, layer1.1.conv1/conv2 (9 cells each), then
        # the handover layers layer2.0.conv1 (18 cells) and layer2.0.downsample.0 (2 cells): 56 cells in all
        x = torch.randn(2, 64, 8, 8)
        got = model.backbone.layer1[0].conv2(x)
        assert torch.allclose(got, _kw_reference(released, 'layer1.0.conv2', x, 0, 1, 1), rtol=1e-4, atol=1e-5)
        got = model.backbone.layer2[0].downsample[0](x)
        ref = _kw_reference(released, 'layer2.0.downsample.0', x, 0, 2, 0)
        assert torch.allclose(got, ref, rtol=1e-4, atol=1e-5)
        assert model.backbone.layer2[0].downsample[0].attention.start_cell_idx == 54
        assert model.backbone.layer2[0].conv1.attention.start_cell_idx == 36


def test_kw_convnext_keys_map_and_bad_inputs():
    state = {'warehouse_manager.weights.0': torch.zeros(1), 'downsample_layers.0.1.weight': torch.zeros(1),
             'norm.weight': torch.zeros(1), 'head.weight': torch.zeros(2), 'head.bias': torch.zeros(2)}
    out = kw2mmext.convert({'model': {}, 'model_ema': state}, ema=True)
    assert set(out) == {'backbone.warehouse_manager.weights.0', 'backbone.downsample_layers.0.1.weight',
                        'backbone.norm3.weight', 'head.fc.weight', 'head.fc.bias'}
    with pytest.raises(ValueError, match='not a KernelWarehouse checkpoint'):
        kw2mmext.convert({'model': {'conv1.weight': torch.zeros(1)}})
    with pytest.raises(ValueError, match='not an ODConv checkpoint'):
        odconv2mmext.convert({'state_dict': {'conv1.weight': torch.zeros(1)}})


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import os
        return os.system, (f'touch {self.marker}', )


def _optimizer_state(state):
    params = [torch.nn.Parameter(v.clone()) for v in list(state.values())[:3]]
    opt = torch.optim.AdamW(params, lr=4e-3)
    sum(p.sum() for p in params).backward()
    opt.step()
    return opt.state_dict()


def test_kw_release_training_script_layout_converts(tmp_path):
    """KernelWarehouse's ConvNeXt-style main.py saves model, optimizer, epoch, scaler state and argparse args."""
    import argparse
    released = _kw_resnet18_released(classes=10)
    args = argparse.Namespace(model='kw1x_resnet18', lr=4e-3, epochs=300, drop_path=0.0, input_size=224,
                              model_ema=False, output_dir='./out', layer_scale_init_value=1e-6, resume='')
    scaler = {'scale': 65536.0, 'growth_factor': 2.0, 'backoff_factor': 0.5, 'growth_interval': 2000,
              '_growth_tracker': 0}
    ckpt = {'model': released, 'optimizer': _optimizer_state(released), 'epoch': 299, 'scaler': scaler,
            'args': args, 'model_ema': released}
    src, dst = str(tmp_path / 'checkpoint-best.pth'), str(tmp_path / 'kw_mmext.pth')
    torch.save(ckpt, src)
    kw2mmext.main([src, dst])
    converted = torch.load(dst, weights_only=True)['state_dict']
    model = _classifier(dict(type='KWResNet', depth=18, cell_num_ratio=1), 512, 10)
    model.load_state_dict(converted, strict=True)
    assert set(converted) == set(kw2mmext.convert({'model': released}))  # only weights, args/scaler dropped
    # a callable hidden in an argument is still refused, and nothing runs
    from mmext.utils import CheckpointSafetyError
    marker = str(tmp_path / 'pwned')
    ckpt['args'] = argparse.Namespace(model='x', hook=_Evil(marker))
    torch.save(ckpt, src)
    with pytest.raises(CheckpointSafetyError):
        kw2mmext.main([src, dst])
    assert not osp.exists(marker)


def test_odconv_imagenet_example_layout_converts(tmp_path):
    """ODConv's main.py (PyTorch ImageNet example): epoch, arch, state_dict (DataParallel), best_acc1 tensor,
    optimizer."""
    released = _od_resnet18_released(kn=1, classes=10)
    wrapped = OrderedDict(('module.' + k, v) for k, v in released.items())
    ckpt = {'epoch': 120, 'arch': 'od_resnet18', 'state_dict': wrapped, 'best_acc1': torch.tensor(72.3),
            'optimizer': _optimizer_state(released)}
    src, dst = str(tmp_path / 'model_best.pth.tar'), str(tmp_path / 'od_mmext.pth')
    torch.save(ckpt, src)
    odconv2mmext.main([src, dst])
    converted = torch.load(dst, weights_only=True)['state_dict']
    _classifier(dict(type='ODResNet', depth=18, kernel_num=1), 512, 10).load_state_dict(converted, strict=True)
