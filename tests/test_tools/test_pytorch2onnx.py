"""tools/deployment/pytorch2onnx.py: configs of each package export with a dynamic batch and onnxruntime matches
PyTorch at other batch sizes; a checkpoint is loaded through the safe loader."""
import importlib.util
import os.path as osp

import pytest
import torch

from tests.conftest import REPO, run_tool

onnx = pytest.importorskip('onnx')
pytest.importorskip('onnxruntime')


def _tool():
    spec = importlib.util.spec_from_file_location('pytorch2onnx', osp.join(REPO, 'tools/deployment/pytorch2onnx.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize('config', ['configs/quickstart/fcos_r18-c32_fpn_1xb8-12e_shapes.py',
                                    'configs/quickstart/fcn_r18-d8_1xb8-2k_shapes-seg.py'])
def test_export_det_seg_dynamic_batch(config, tmp_path):
    tool = _tool()
    torch.manual_seed(0)
    model = tool.build_model(osp.join(REPO, config))
    path = str(tmp_path / 'model.onnx')
    names = tool.export(model, path, (64, 64))
    graph = onnx.load(path).graph
    assert [i.name for i in graph.input] == ['input'] and len(graph.output) == len(names)
    assert graph.input[0].type.tensor_type.shape.dim[0].dim_param == 'batch'
    assert tool.verify(model, path, (64, 64), batch_sizes=(1, 3)) < 1e-3


def test_cli_dynamic_conv_classifier_with_checkpoint(tmp_path):
    tool = _tool()
    cfg = osp.join(REPO, 'configs/odconv/od-resnet18-4x-c32_1xb32-8e_shapes-cls.py')
    torch.manual_seed(1)
    model = tool.build_model(cfg)
    ckpt = str(tmp_path / 'od.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), ckpt)
    out = str(tmp_path / 'od.onnx')
    log = run_tool(['tools/deployment/pytorch2onnx.py', cfg, '--checkpoint', ckpt, '--out', out, '--shape', '32',
                    '32', '--verify', '--verify-batch-sizes', '1', '2']).stdout
    assert 'onnxruntime matches PyTorch at batch sizes [1, 2]' in log, log
    # the exported weights are the checkpoint's: the ONNX logits equal the checkpointed model's
    import onnxruntime as ort
    x = torch.rand(2, 3, 32, 32) * 255
    got = ort.InferenceSession(out, providers=['CPUExecutionProvider']).run(None, {'input': x.numpy()})[0]
    with torch.no_grad():
        ref = tool.ExportWrapper(model.eval())(x)[0]
    assert torch.allclose(torch.from_numpy(got), ref, rtol=1e-3, atol=1e-4)


def test_mismatching_checkpoint_is_named(tmp_path):
    tool = _tool()
    ckpt = str(tmp_path / 'bad.pth')
    torch.save(dict(state_dict={'foo.weight': torch.zeros(1)}), ckpt)
    with pytest.raises(KeyError, match='does not match'):
        tool.build_model(osp.join(REPO, 'configs/quickstart/resnet18_1xb32-20e_shapes-cls.py'), ckpt)
