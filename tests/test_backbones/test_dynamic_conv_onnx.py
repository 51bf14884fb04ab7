"""ONNX export of the dynamic-conv backbones with a dynamic batch axis, checked by onnxruntime at two batch sizes.

The released models fold the batch into the conv groups, which freezes the batch size into the ONNX graph
(onnx/onnx#3843); while exporting, mmext's dynamic convs switch to a slicing + batched-matmul formulation.
"""
import pytest
import torch

from mmext.backbones import KWConvNeXt, ODResNet

onnx = pytest.importorskip('onnx', reason='onnx is not installed in this environment')
ort = pytest.importorskip('onnxruntime', reason='onnxruntime is not installed in this environment')

MODELS = [
    ('od_r18_2x', lambda: ODResNet(18, kernel_num=2, out_indices=(2, 3))),
    ('kw_convnext_small', lambda: KWConvNeXt(arch=dict(depths=[1, 1, 1, 1], dims=[16, 32, 64, 128]),
                                             out_indices=(3, ), gap_before_final_norm=True)),
]


@pytest.mark.parametrize('name,build', MODELS, ids=[m[0] for m in MODELS])
def test_onnx_export_dynamic_batch(name, build, tmp_path):
    torch.manual_seed(0)
    model = build().eval()
    path = str(tmp_path / f'{name}.onnx')
    n_out = len(model.out_indices)
    out_names = [f'out{i}' for i in range(n_out)]
    axes = {k: {0: 'batch'} for k in ['input'] + out_names}
    torch.onnx.export(model, (torch.randn(2, 3, 32, 32), ), path, input_names=['input'], output_names=out_names,
                      dynamic_axes=axes, opset_version=17, dynamo=False)
    graph = onnx.load(path).graph
    assert graph.input[0].type.tensor_type.shape.dim[0].dim_param == 'batch'
    sess = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    for batch in (1, 3):
        x = torch.randn(batch, 3, 32, 32)
        got = sess.run(None, {'input': x.numpy()})
        with torch.no_grad():
            ref = model(x)
        for g, r in zip(got, ref):
            assert g.shape == tuple(r.shape)
            assert torch.allclose(torch.from_numpy(g), r, rtol=1e-3, atol=1e-4)
