"""Time a model's inference forward and train step from a config, on real batches of its dataloaders.

Reports median milliseconds per batch, images per second and peak memory for ``predict`` (eval mode,
no_grad) and for a full ``train_step`` (forward, loss, backward, optimizer step). ``peak_mem_what`` names the
memory measurement: on a GPU the CUDA allocator's peak, on a CPU the peak resident memory above the start of one
extra untimed call, sampled every 0.5 ms (see :mod:`mmext.utils.benchmark`). Example::

    python tools/analysis_tools/benchmark_model.py configs/quickstart/fcos_r18-c32_fpn_1xb8-12e_shapes.py \
        --iters 10 --batch-size 8
"""
import argparse
import json

import torch
from mmengine.config import DictAction
from mmengine.registry import MODELS, init_default_scope
from mmengine.runner import Runner

import mmext  # noqa: F401
from mmext.apis import load_config
from mmext.utils import measure


def main() -> None:
    parser = argparse.ArgumentParser(description='Benchmark inference and a train step')
    parser.add_argument('config')
    parser.add_argument('--iters', type=int, default=10)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--batch-size', type=int, help='override both dataloaders\' batch size')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args()

    cfg = load_config(args.config, args.cfg_options)
    init_default_scope(cfg.default_scope)
    model = MODELS.build(cfg.model).to(args.device)
    if hasattr(model, 'init_weights'):
        model.init_weights()
    results = dict(config=args.config, device=args.device, threads=torch.get_num_threads())

    def loader(key):
        lcfg = dict(cfg[key], num_workers=0, persistent_workers=False)
        if args.batch_size:
            lcfg['batch_size'] = args.batch_size
        return Runner.build_dataloader(lcfg)

    test_batch = next(iter(loader('val_dataloader')))
    model.eval()
    with torch.no_grad():
        stats = measure(lambda: model.test_step(test_batch), args.warmup, args.iters, args.device)
    n = len(test_batch['inputs'])
    results['inference'] = dict(stats, batch_size=n, images_per_s=1000.0 * n / stats['median_ms'])

    train_batch = next(iter(loader('train_dataloader')))
    from mmengine.optim import build_optim_wrapper
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    model.train()
    stats = measure(lambda: model.train_step(train_batch, optim_wrapper), args.warmup, args.iters, args.device)
    n = len(train_batch['inputs'])
    results['train_step'] = dict(stats, batch_size=n, images_per_s=1000.0 * n / stats['median_ms'])
    print(json.dumps(results, indent=2))


if __name__ == '__main__':
    main()
