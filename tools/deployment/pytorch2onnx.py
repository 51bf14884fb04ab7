"""Export a detector, segmentor or classifier from a config (and checkpoint) to ONNX with a dynamic batch axis.

The graph is the model's ``tensor`` forward (backbone, neck and head outputs before post-processing: e.g. FCOS's
per-level class scores, box and centerness maps; a segmentor's logits; a classifier's logits), flattened into a
list of outputs ``out0, out1, ...``, preceded by the data preprocessor's normalisation (mean/std and BGR->RGB as
configured), so the input ``input`` is a float ``[B, 3, H, W]`` image in the dataloader's channel order and value
range. The dynamic convolutions (ODConv, KernelWarehouse) export with their batch-free formulation (see
:mod:`mmext.ops.dynamic_conv`). ``--verify`` runs the file with onnxruntime at several batch sizes and compares
every output with PyTorch. Examples::

    python tools/deployment/pytorch2onnx.py configs/quickstart/fcos_r18-c32_fpn_1xb8-12e_shapes.py \\
        --checkpoint work_dirs/fcos/epoch_12.pth --out fcos.onnx --shape 256 256 --verify
    python tools/deployment/pytorch2onnx.py configs/odconv/od-resnet18-4x-c32_1xb32-8e_shapes-cls.py --out od.onnx
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional, Sequence

import torch
import torch.nn as nn
from mmengine.config import DictAction

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
import mmext  # noqa: E402,F401
from mmext.apis import load_config  # noqa: E402
from mmext.utils.checkpoint import safe_load  # noqa: E402

__all__ = ['ExportWrapper', 'build_model', 'export', 'verify', 'main']


def _flatten(out) -> List[torch.Tensor]:
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, dict):
        return [t for k in sorted(out) for t in _flatten(out[k])]
    if isinstance(out, (list, tuple)):
        return [t for o in out for t in _flatten(o)]
    raise TypeError(f'pytorch2onnx: the tensor-mode output contains a {type(out).__name__}; only tensors, '
                    f'lists, tuples and dicts of tensors can be exported')


class ExportWrapper(nn.Module):
    """Normalisation of the data preprocessor, then ``model(x, mode='tensor')`` flattened to a tuple."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        pre = getattr(model, 'data_preprocessor', None)
        self.bgr_to_rgb = bool(getattr(pre, '_channel_conversion', False))
        normalize = bool(getattr(pre, '_enable_normalize', False))
        self.register_buffer('mean', pre.mean.clone() if normalize else torch.zeros(1, 1, 1), persistent=False)
        self.register_buffer('std', pre.std.clone() if normalize else torch.ones(1, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor):
        if self.bgr_to_rgb:
            x = x[:, [2, 1, 0], ...]
        x = (x - self.mean) / self.std
        return tuple(_flatten(self.model(x, mode='tensor')))


def build_model(config: str, checkpoint: Optional[str] = None, cfg_options: Optional[dict] = None) -> nn.Module:
    """Build the config's model in eval mode, with the checkpoint's weights (loaded safely) if given."""
    from mmengine.registry import MODELS, init_default_scope
    cfg = load_config(config, cfg_options)
    init_default_scope(cfg.default_scope)
    model = MODELS.build(cfg.model)
    if checkpoint is not None:
        state = safe_load(checkpoint, map_location='cpu')
        state = state.get('state_dict', state) if isinstance(state, dict) else state
        missing, unexpected = model.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise KeyError(f'{checkpoint} does not match {config}: missing {missing[:5]}, unexpected '
                           f'{unexpected[:5]}')
    return model.eval()


def export(model: nn.Module, out: str, shape: Sequence[int], opset: int = 17) -> List[str]:
    """Write ``out``; return the output names. The batch axis of the input and of every output is dynamic."""
    wrapper = ExportWrapper(model).eval()
    x = torch.rand(2, 3, *shape) * 255
    with torch.no_grad():
        n_out = len(wrapper(x))
    names = [f'out{i}' for i in range(n_out)]
    axes = {k: {0: 'batch'} for k in ['input'] + names}
    torch.onnx.export(wrapper, (x, ), out, input_names=['input'], output_names=names, dynamic_axes=axes,
                      opset_version=opset, dynamo=False)
    return names


def verify(model: nn.Module, path: str, shape: Sequence[int], batch_sizes: Sequence[int] = (1, 3),
           rtol: float = 1e-3, atol: float = 1e-4) -> float:
    """Run ``path`` with onnxruntime and compare with PyTorch; return the largest absolute difference."""
    import onnxruntime as ort
    wrapper = ExportWrapper(model).eval()
    sess = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    worst = 0.0
    for batch in batch_sizes:
        x = torch.rand(batch, 3, *shape) * 255
        got = sess.run(None, {'input': x.numpy()})
        with torch.no_grad():
            ref = wrapper(x)
        for i, (g, r) in enumerate(zip(got, ref)):
            if g.shape != tuple(r.shape):
                raise AssertionError(f'out{i}: onnxruntime shape {g.shape} != PyTorch {tuple(r.shape)} '
                                     f'(batch {batch})')
            g = torch.from_numpy(g)
            worst = max(worst, float((g - r).abs().max()))
            if not torch.allclose(g, r, rtol=rtol, atol=atol):
                raise AssertionError(f'out{i}: onnxruntime differs from PyTorch by {float((g - r).abs().max()):.3g} '
                                     f'(batch {batch}, rtol={rtol}, atol={atol})')
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description='Export a model to ONNX (dynamic batch)')
    parser.add_argument('config')
    parser.add_argument('--checkpoint', help='weights to export (default: the freshly initialised model)')
    parser.add_argument('--out', required=True, help='output .onnx file')
    parser.add_argument('--shape', type=int, nargs=2, default=(224, 224), metavar=('H', 'W'))
    parser.add_argument('--opset', type=int, default=17)
    parser.add_argument('--verify', action='store_true', help='check with onnxruntime against PyTorch')
    parser.add_argument('--verify-batch-sizes', type=int, nargs='+', default=[1, 3])
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args()
    torch.manual_seed(0)
    model = build_model(args.config, args.checkpoint, args.cfg_options)
    names = export(model, args.out, args.shape, args.opset)
    print(f'wrote {args.out}: input [batch, 3, {args.shape[0]}, {args.shape[1]}], {len(names)} outputs')
    if args.verify:
        worst = verify(model, args.out, args.shape, args.verify_batch_sizes)
        print(f'onnxruntime matches PyTorch at batch sizes {args.verify_batch_sizes} (max abs diff {worst:.3g})')


if __name__ == '__main__':
    main()
