"""Effective receptive field (ERF) pictures: PSConv against plain and dilated 3x3 convolutions.

"PSConv: Squeezing Feature Pyramid into One Compact Poly-Scale Convolutional Layer" (ECCV 2020, arXiv
2007.06191) claims that one PSConv layer covers several scales. The ERF (Luo et al., "Understanding the Effective
Receptive Field in Deep Convolutional Neural Networks", NeurIPS 2016) is the gradient magnitude of the central
output unit with respect to the input, summed over channels and averaged over inputs.

Two panels per row:

* ``stack``: ``--layers`` randomly initialised 3x3 layers (PyTorch default init, ReLU between, no BN) of plain
  convs, dilation-2 convs and PSConv2d (dilation 2, parts 4) -- the operator alone;
* ``trained`` (with ``--configs``/``--checkpoints``): the C4 (stage 3) output of trained backbones, e.g. the
  Shapes ResNet-50 and PS-ResNet-50 runs, on random (Gaussian) inputs of ``2 * --size - 1`` pixels.

Example (the picture in configs/psconv/README.md)::

    python tools/analysis_tools/psconv_erf.py --out configs/psconv/erf.png \
        --configs configs/psconv/resnet50-c32_1xb32-8e_shapes-cls.py \
                  configs/psconv/ps-resnet50-c32_1xb32-8e_shapes-cls.py \
        --checkpoints work_dirs/r50/epoch_8.pth work_dirs/ps_r50/epoch_8.pth
"""
import argparse
from typing import Dict, List

import numpy as np
import torch
import torch.nn as nn

from mmext.ops import PSConv2d


def _stack(kind: str, channels: int, layers: int) -> nn.Module:
    mods: List[nn.Module] = [nn.Conv2d(3, channels, 1)]
    for _ in range(layers):
        conv = {'conv (d=1)': lambda: nn.Conv2d(channels, channels, 3, 1, 1),
                'dilated conv (d=2)': lambda: nn.Conv2d(channels, channels, 3, 1, 2, 2),
                'PSConv (d=2, {2,1,4,1})': lambda: PSConv2d(channels, channels, 3, 1, 1, dilation=2)}[kind]()
        mods += [conv, nn.ReLU()]
    return nn.Sequential(*mods)


def erf(model: nn.Module, inputs: torch.Tensor) -> np.ndarray:
    """Mean over ``inputs`` of |d out[center] / d input| summed over channels (normalised to max 1)."""
    x = inputs.clone().requires_grad_(True)
    out = model(x)
    out = out[-1] if isinstance(out, (tuple, list)) else out
    h, w = out.shape[-2:]
    out[:, :, h // 2, w // 2].sum().backward()
    g = x.grad.abs().sum(1).mean(0).numpy()
    return g / max(g.max(), 1e-12)


def _radius(g: np.ndarray, frac: float = 0.9) -> int:
    """Smallest centred square half-width holding ``frac`` of the ERF mass (a number to quote with the PNG)."""
    c = np.array(g.shape) // 2
    total = g.sum()
    for r in range(1, max(g.shape)):
        if g[max(c[0] - r, 0):c[0] + r + 1, max(c[1] - r, 0):c[1] + r + 1].sum() >= frac * total:
            return r
    return max(g.shape)


def trained_erfs(configs: List[str], checkpoints: List[str], size: int, n: int) -> Dict[str, np.ndarray]:
    from mmengine.registry import init_default_scope
    from mmengine.runner import load_checkpoint

    import mmext  # noqa: F401
    from mmext.apis import load_config
    out = {}
    for cfg_path, ckpt in zip(configs, checkpoints):
        cfg = load_config(cfg_path)
        init_default_scope(cfg.default_scope)
        from mmengine.registry import MODELS
        model = MODELS.build(cfg.model)
        load_checkpoint(model, ckpt, map_location='cpu')
        backbone = model.backbone
        backbone.eval()  # (mmpretrain ResNet.train() returns None)
        backbone.out_indices = (2, )
        torch.manual_seed(0)
        out[f'trained {cfg.model.backbone.type} C4'] = erf(backbone, torch.randn(n, 3, size, size))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description='Effective receptive fields of PSConv vs plain / dilated convs')
    parser.add_argument('--out', default='erf.png')
    parser.add_argument('--layers', type=int, default=4)
    parser.add_argument('--channels', type=int, default=32)
    parser.add_argument('--size', type=int, default=65)
    parser.add_argument('--samples', type=int, default=16)
    parser.add_argument('--configs', nargs='*', default=[])
    parser.add_argument('--checkpoints', nargs='*', default=[])
    args = parser.parse_args()
    if len(args.configs) != len(args.checkpoints):
        raise ValueError('--configs and --checkpoints need the same number of entries')
    maps: Dict[str, np.ndarray] = {}
    for kind in ('conv (d=1)', 'dilated conv (d=2)', 'PSConv (d=2, {2,1,4,1})'):
        torch.manual_seed(0)
        maps[f'{args.layers} x {kind}'] = erf(_stack(kind, args.channels, args.layers),
                                              torch.randn(args.samples, 3, args.size, args.size))
    maps.update(trained_erfs(args.configs, args.checkpoints, args.size * 2 - 1, args.samples))
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(maps), figsize=(3.2 * len(maps), 3.4))
    for ax, (name, g) in zip(np.atleast_1d(axes), maps.items()):
        ax.imshow(np.log10(g + 1e-4), cmap='viridis', vmin=-4, vmax=0)
        r = _radius(g)
        ax.set_title(f'{name}\n90% mass within +-{r} px', fontsize=8)
        ax.axis('off')
        print(f'{name}: 90% of the ERF mass within +-{r} px')
    fig.suptitle('Effective receptive field, log10 |d y_center / d x| (normalised)', fontsize=9)
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print(f'saved {args.out}')


if __name__ == '__main__':
    main()
