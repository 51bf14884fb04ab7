"""Test (and evaluate) a detector, segmentor or classifier checkpoint from an mmext config.

Same flags as mmdet's ``tools/test.py``; the config's ``default_scope`` decides the task. Example::

    python tools/test.py configs/quickstart/fcos_r18-c32_fpn_1xb8-12e_shapes.py work_dirs/.../epoch_12.pth --show-dir vis
"""
import argparse

from cpu_malloc_env import reexec_with_malloc_env

if __name__ == '__main__':
    reexec_with_malloc_env()  # before the heavy imports: glibc reads its allocator settings at start-up

import mmext  # noqa: F401,E402  (registers mmext and makes checkpoint loading safe)
from mmext.apis import add_common_args, finish_args, build_runner, enable_visualization, load_config, \
    setup_cpu_distributed, teardown_distributed


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (and evaluate) a model with mmext')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the directory to save the file containing evaluation metrics')
    parser.add_argument('--out', type=str, help='dump predictions to a pickle file for offline evaluation')
    parser.add_argument('--show', action='store_true', help='show prediction results')
    parser.add_argument('--show-dir', help='directory where painted images are saved; a relative path is taken '
                        'under the work dir (every image, or every --show-interval-th)')
    parser.add_argument('--show-interval', type=int, default=1,
                        help='paint every N-th test image (counted in images) with --show/--show-dir')
    parser.add_argument('--wait-time', type=float, default=2, help='the interval of show (s)')
    return finish_args(add_common_args(parser))


def main() -> None:
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options, args.work_dir, args.launcher)
    cfg.load_from = args.checkpoint
    if args.show or args.show_dir:
        cfg = enable_visualization(cfg, args.show, args.show_dir, args.wait_time, args.show_interval)
        if cfg.show_dir:
            print(f'painted images go to {cfg.show_dir}')
    setup_cpu_distributed(cfg)
    runner = build_runner(cfg)
    if args.out is not None:
        if not args.out.endswith(('.pkl', '.pickle')):
            raise ValueError(f'--out must name a .pkl or .pickle file, got {args.out!r}')
        from mmengine.evaluator import DumpResults
        runner.test_evaluator.metrics.append(DumpResults(out_file_path=args.out))
    runner.test()
    teardown_distributed()


if __name__ == '__main__':
    main()
