"""Benchmark a distillation train step against its baseline, (teacher no-grad forward + student train step),
measured in the same run, with the peak memory of each.

Both variants of a method are built in one fresh subprocess and timed **interleaved**: after the warm-up, each
timed iteration runs one baseline step and one distill step (the order alternating), so a load change on a shared
machine lands on both sides; the rows give the median time of each side over every timed iteration of every
``--repeats`` subprocess, their ratio, and the median of the per-iteration ratios. Peak memory: on a GPU the CUDA
allocator's peak during one extra untimed step above the allocation at its start; on the CPU the sampled peak of
the resident memory during one extra untimed step above its start
(:func:`mmext.utils.benchmark.rss_peak_during_mib`), each variant separately. Methods (synthetic batches):

* ``norm``: NORM ResNet-34 -> ResNet-18 (N = 8); baseline = ResNet-34 ``extract_feat`` + ResNet-18 train step.
* ``kd``: logit KD (FeatureDistiller on ``head.fc``, tau 4), ResNet-34 -> ResNet-18; baseline = ResNet-34
  ``tensor`` forward + ResNet-18 train step.
* ``dks``: DKS ResNet-18 with three auxiliary branches; baseline = ResNet-18 train step.
* ``dcm``: DCM ResNet-18 | ResNet-18; baseline = two ResNet-18 train steps.
* ``afdcd``: Af-DCD with the models of ``configs/afdcd/afdcd_r18-w16-r18-w16-d8_1xb8-800_shapes-seg-128.py``
  (DeepLabV3-R18-w16 -> DeepLabV3-R18-w16, 8-class masks at ``--size``); baseline = teacher ``tensor`` forward +
  student train step.
* ``scalekd``: ScaleKD with the models of ``configs/scalekd/scalekd_swin-p4-r18-w16_1xb32-6e_shapes-cls.py`` (Swin
  p4-d16 -> ResNet-18-w16, 5 classes, 64 px: the config's token grids fix the size); baseline = teacher ``tensor``
  forward + student train step.

Example::

    python tools/analysis_tools/benchmark_distill.py --methods norm kd dks dcm --batch-size 8 --size 112
"""
import argparse
import copy
import json
import os
import statistics
import subprocess
import sys

import torch

__all__ = ['build_case']

R18 = dict(type='ImageClassifier', backbone=dict(type='ResNet', depth=18, out_indices=(3, )),
           neck=dict(type='GlobalAveragePooling'),
           head=dict(type='LinearClsHead', num_classes=1000, in_channels=512,
                     loss=dict(type='CrossEntropyLoss', loss_weight=1.0)),
           data_preprocessor=dict(type='ClsDataPreprocessor', num_classes=1000, mean=[123.675, 116.28, 103.53],
                                  std=[58.395, 57.12, 57.375], to_rgb=True))
R34 = copy.deepcopy(R18)
R34['backbone']['depth'] = 34
AUX = [
    dict(source='backbone.layer1', head=dict(type='ResNetAuxClassifier', in_channels=64, num_classes=1000,
                                             stages=[(128, 2, 2), (256, 1, 2), (512, 1, 2)])),
    dict(source='backbone.layer2', head=dict(type='ResNetAuxClassifier', in_channels=128, num_classes=1000,
                                             stages=[(256, 2, 2), (512, 1, 2)])),
    dict(source='backbone.layer3', head=dict(type='ResNetAuxClassifier', in_channels=256, num_classes=1000,
                                             stages=[(1024, 2, 2)])),
]


SHAPES_CONFIGS = dict(afdcd='configs/afdcd/afdcd_r18-w16-r18-w16-d8_1xb8-800_shapes-seg-128.py',
                     scalekd='configs/scalekd/scalekd_swin-p4-r18-w16_1xb32-6e_shapes-cls.py')
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _shapes_cfg(method: str) -> dict:
    from mmengine.config import Config
    cfg = Config.fromfile(os.path.join(REPO, SHAPES_CONFIGS[method]))
    model = cfg.model.to_dict()
    model.update(teacher_ckpt=None, allow_random_teacher=True)
    if isinstance(model['teacher'], str):
        teacher = Config.fromfile(model['teacher'])
        model['teacher'] = dict(teacher.model.to_dict(), data_preprocessor=teacher.get('data_preprocessor'))
        if model['teacher']['data_preprocessor'] is None:
            model['teacher'].pop('data_preprocessor')
    return model


def _distiller_cfg(method: str) -> dict:
    if method in SHAPES_CONFIGS:
        return _shapes_cfg(method)
    if method == 'norm':
        return dict(type='NORMDistiller', student=R18, teacher=R34, allow_random_teacher=True, in_channels=512,
                    teacher_channels=512, num_segments=8)
    if method == 'kd':
        return dict(type='FeatureDistiller', student=R18, teacher=R34, allow_random_teacher=True,
                    distill_cfgs=[dict(name='kd', student=dict(source='head.fc'), teacher=dict(source='head.fc'),
                                       loss=dict(type='DistillKLDivLoss', tau=4.0))])
    if method == 'dks':
        return dict(type='DKSDistiller', student=R18, aux_heads=AUX)
    if method == 'dcm':
        return dict(type='DCMDistiller', student=R18, peer=R18, student_aux_heads=AUX, peer_aux_heads=AUX)
    raise ValueError(f'--methods: unknown method {method!r}; expected norm, kd, dks, dcm, afdcd or scalekd')


def build_case(method: str, variant: str, device: str):
    """Return ``step()`` running one train step of the variant (``distill`` or ``baseline``)."""
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import MODELS, init_default_scope
    init_default_scope('mmseg' if method == 'afdcd' else 'mmpretrain')
    optim_cfg = dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9))
    distiller = MODELS.build(_distiller_cfg(method)).to(device)
    if variant == 'distill':
        distiller.train()
        optim = build_optim_wrapper(distiller, optim_cfg)
        return lambda batch: distiller.train_step(batch, optim)
    if variant != 'baseline':
        raise ValueError(f'variant must be distill or baseline, got {variant!r}')
    # fresh, hook-free copies of the trained networks (the distiller's own student carries its hooks, e.g. NORM's FT)
    cfg = _distiller_cfg(method)
    nets = [MODELS.build(copy.deepcopy(cfg[k])).to(device) for k in ('student', 'peer') if k in cfg]
    optims = [build_optim_wrapper(n, optim_cfg) for n in nets]
    teacher = distiller.teacher
    for n in nets:
        n.train()

    def step(batch):
        if teacher is not None:
            with torch.no_grad():
                inputs = distiller.data_preprocessor(batch, False)['inputs']
                teacher.extract_feat(inputs) if method == 'norm' else teacher(inputs, None, mode='tensor')
        for n, o in zip(nets, optims):
            n.train_step(batch, o)

    return step


VARIANTS = ('baseline', 'distill')


def _peak_mib(step, batch, device: str) -> float:
    """Peak memory above the start of one untimed step (CUDA allocator, or the sampled process RSS)."""
    from mmext.utils.benchmark import rss_peak_during_mib
    if device.startswith('cuda'):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        start = torch.cuda.memory_allocated()
        step(batch)
        torch.cuda.synchronize()
        return (torch.cuda.max_memory_allocated() - start) / 2**20
    return rss_peak_during_mib(lambda: step(batch))


def _batch(args) -> dict:
    from mmpretrain.structures import DataSample
    torch.manual_seed(0)
    size = 64 if args.method == 'scalekd' else args.size
    batch = dict(inputs=[torch.randint(0, 256, (3, size, size), dtype=torch.uint8)
                         for _ in range(args.batch_size)],
                 data_samples=[DataSample().set_gt_label(i % 5 if args.method == 'scalekd' else i % 1000)
                               for i in range(args.batch_size)])
    if args.method == 'afdcd':
        from mmengine.structures import PixelData
        from mmseg.structures import SegDataSample
        samples = []
        for _ in range(args.batch_size):
            sample = SegDataSample(metainfo=dict(img_shape=(size, size), ori_shape=(size, size),
                                                 pad_shape=(size, size)))
            sample.gt_sem_seg = PixelData(data=torch.randint(0, 8, (1, size, size)))
            samples.append(sample)
        batch['data_samples'] = samples
    return batch


def _child(args) -> None:
    """Both variants in this process, timed interleaved; prints the per-iteration times and the peaks."""
    import time

    import mmext  # noqa: F401
    batch = _batch(args)
    steps = {v: build_case(args.method, v, args.device) for v in VARIANTS}
    cuda = args.device.startswith('cuda')

    def timed(variant: str) -> float:
        start = time.perf_counter()
        steps[variant](batch)
        if cuda:
            torch.cuda.synchronize()
        return (time.perf_counter() - start) * 1000.0

    for _ in range(args.warmup):
        for v in VARIANTS:
            steps[v](batch)
    times = {v: [] for v in VARIANTS}
    for i in range(args.iters):
        for v in (VARIANTS if i % 2 == 0 else VARIANTS[::-1]):
            times[v].append(timed(v))
    peaks = {v: _peak_mib(steps[v], batch, args.device) for v in VARIANTS}
    print('RESULT ' + json.dumps(dict(times=times, peaks=peaks)))


def main() -> None:
    parser = argparse.ArgumentParser(description='Distillation train step vs teacher forward + student step')
    parser.add_argument('--methods', nargs='+', default=['norm', 'kd', 'dks', 'dcm'])
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--size', type=int, default=112)
    parser.add_argument('--iters', type=int, default=5, help='timed interleaved iterations per subprocess')
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--repeats', type=int, default=2,
                        help='fresh subprocesses per method; their timed iterations are pooled')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--method', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.method:
        _child(args)
        return
    if args.repeats < 1 or args.iters < 1:
        raise ValueError(f'--repeats and --iters must be >= 1, got {args.repeats} and {args.iters}')
    rows = []
    for method in args.methods:
        _distiller_cfg(method)  # validate the name early
        times = {v: [] for v in VARIANTS}
        peaks = {v: [] for v in VARIANTS}
        for _ in range(args.repeats):
            cmd = [sys.executable, __file__, '--method', method, '--batch-size', str(args.batch_size), '--size',
                   str(args.size), '--iters', str(args.iters), '--warmup', str(args.warmup), '--device',
                   args.device]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
            res = json.loads([ln for ln in out.splitlines() if ln.startswith('RESULT ')][-1][7:])
            for v in VARIANTS:
                times[v] += res['times'][v]
                peaks[v].append(res['peaks'][v])
        base, dist = (statistics.median(times[v]) for v in VARIANTS)
        rows.append(dict(method=method, baseline_ms=base, distill_ms=dist, time_ratio=dist / base,
                         pair_ratio_median=statistics.median(d / b for b, d in zip(*times.values())),
                         timed_pairs=len(times['baseline']),
                         baseline_peak_mib=statistics.median(peaks['baseline']),
                         distill_peak_mib=statistics.median(peaks['distill'])))
        print('ROW ' + json.dumps(rows[-1]), flush=True)
    print(json.dumps(dict(device=args.device, threads=torch.get_num_threads(), batch_size=args.batch_size,
                          size=args.size, iters=args.iters, repeats=args.repeats, rows=rows), indent=2))


if __name__ == '__main__':
    main()
