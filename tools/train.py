"""Train a detector, segmentor or classifier from an mmext (or any mmdet/mmseg/mmpretrain) config.

Same flags as mmdet's ``tools/train.py``; the config's ``default_scope`` decides the task. Examples::

    python tools/train.py configs/quickstart/fcos_r18-c32_fpn_1xb8-12e_shapes.py
    python tools/train.py CONFIG --work-dir work_dirs/x --amp --cfg-options train_cfg.max_epochs=3
    python tools/train.py CONFIG --resume            # latest checkpoint in the work dir
    python tools/train.py CONFIG --resume path.pth   # a given checkpoint
"""
import argparse

from cpu_malloc_env import reexec_with_malloc_env

if __name__ == '__main__':
    reexec_with_malloc_env()  # before the heavy imports: glibc reads its allocator settings at start-up

import mmext  # noqa: F401,E402  (registers mmext and makes checkpoint loading safe)
from mmext.apis import add_common_args, finish_args, build_runner, load_config, \
    setup_cpu_distributed, teardown_distributed


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a model with mmext')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument('--amp', action='store_true', default=False, help='enable automatic-mixed-precision training')
    parser.add_argument('--auto-scale-lr', action='store_true', help='enable automatically scaling LR')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from the given checkpoint, or without a value from the latest checkpoint in '
                        'the work directory')
    return finish_args(add_common_args(parser))


def main() -> None:
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options, args.work_dir, args.launcher)
    if args.amp:
        if cfg.optim_wrapper.get('type', 'OptimWrapper') == 'AmpOptimWrapper':
            print('AMP is already enabled in the config')
        else:
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.loss_scale = 'dynamic'
    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg or 'base_batch_size' not in cfg.auto_scale_lr:
            raise KeyError('--auto-scale-lr needs auto_scale_lr=dict(enable=..., base_batch_size=...) in the config')
        cfg.auto_scale_lr.enable = True
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    setup_cpu_distributed(cfg)
    build_runner(cfg).train()
    teardown_distributed()


if __name__ == '__main__':
    main()
