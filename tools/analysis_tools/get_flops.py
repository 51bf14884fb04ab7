"""Parameters and FLOPs of a model from a config, with mmengine's analysis on a real input from the config's
test (or val) dataloader, in the model's ``tensor`` forward mode.

FLOPs are multiply-adds as mmengine counts them. The dynamic convolutions (ODConv, KernelWarehouse) are counted
by :func:`mmext.utils.flops.count_flops` (per-sample conv, kernel mixing and attention, reported separately),
because the trace alone misses ODConv's kernel mixing and counts the export path's im2col.

Example::

    python tools/analysis_tools/get_flops.py configs/quickstart/fcos_r18-c32_fpn_1xb8-12e_shapes.py
    python tools/analysis_tools/get_flops.py CONFIG --shape 3 224 224   # a random input instead
"""
import argparse

import torch
from mmengine.analysis import get_model_complexity_info
from mmengine.config import DictAction
from mmengine.registry import init_default_scope

import mmext  # noqa: F401
from mmext.apis import load_config
from mmext.utils.flops import count_flops


def main() -> None:
    parser = argparse.ArgumentParser(description='Count parameters and FLOPs')
    parser.add_argument('config')
    parser.add_argument('--shape', type=int, nargs=3, metavar=('C', 'H', 'W'),
                        help='use a random input of this shape instead of a real batch')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    parser.add_argument('--show-table', action='store_true')
    args = parser.parse_args()

    cfg = load_config(args.config, args.cfg_options)
    init_default_scope(cfg.default_scope)
    from mmengine.registry import MODELS
    model = MODELS.build(cfg.model).eval()
    if args.shape:
        inputs = torch.rand(1, *args.shape)
    else:
        from mmengine.runner import Runner
        loader_cfg = cfg.get('test_dataloader') or cfg.get('val_dataloader')
        loader_cfg = dict(loader_cfg, batch_size=1, num_workers=0, persistent_workers=False)
        data = next(iter(Runner.build_dataloader(loader_cfg)))
        inputs = model.data_preprocessor(data, False)['inputs']
    with torch.no_grad():
        counted = count_flops(model, (inputs, ))
        if args.show_table:
            info = get_model_complexity_info(model, inputs=(inputs, ), show_table=True, show_arch=False)
    print(f'input shape: {tuple(inputs.shape)}')
    print(f'params: {_fmt(counted["params"])} ({counted["params"]})')
    print(f'flops: {_fmt(counted["flops"])} ({counted["flops"]})')
    dyn = counted['dynamic']
    if dyn['layers']:
        print(f'dynamic conv layers: {dyn["layers"]}; their flops: per-sample conv {_fmt(dyn["conv"])} '
              f'({dyn["conv"]}), kernel mixing {_fmt(dyn["mixing"])} ({dyn["mixing"]}), attention '
              f'{_fmt(dyn["attention"])} ({dyn["attention"]})')
        print(f'flops of mmengine\'s trace alone: {_fmt(counted["flops_traced"])} ({counted["flops_traced"]})')
    if args.show_table:
        print('mmengine\'s table (trace alone; the dynamic layers as traced):')
        print(info['out_table'])


def _fmt(n: int) -> str:
    for unit, div in (('G', 1e9), ('M', 1e6), ('K', 1e3)):
        if abs(n) >= div:
            return f'{n / div:.3f}{unit}'
    return str(n)


if __name__ == '__main__':
    main()
