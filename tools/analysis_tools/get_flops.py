"""Parameters and FLOPs of a model from a config, with mmengine's analysis on a real input from the config's
test (or val) dataloader, in the model's ``tensor`` forward mode.

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
        info = get_model_complexity_info(model, inputs=(inputs, ), show_table=args.show_table, show_arch=False)
    print(f'input shape: {tuple(inputs.shape)}')
    print(f'params: {info["params_str"]} ({info["params"]})')
    print(f'flops: {info["flops_str"]} ({info["flops"]})')
    if args.show_table:
        print(info['out_table'])


if __name__ == '__main__':
    main()
