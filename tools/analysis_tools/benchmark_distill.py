"""Benchmark a distillation train step against its baseline, (teacher no-grad forward + student train step),
measured in the same run, with the peak memory of each.

Each (method, variant) runs in a fresh subprocess, ``--repeats`` times alternating baseline and distill, and the
fastest median of each is kept, so that a load change on a shared machine does not land on one side only. Peak
memory is each subprocess's own: on a GPU the CUDA allocator's
peak, on the CPU the growth of the process's peak RSS over the resident size after building the models. Methods
(ImageNet-sized models, synthetic batches):

* ``norm``: NORM ResNet-34 -> ResNet-18 (N = 8); baseline = ResNet-34 ``extract_feat`` + ResNet-18 train step.
* ``kd``: logit KD (FeatureDistiller on ``head.fc``, tau 4), ResNet-34 -> ResNet-18; baseline = ResNet-34
  ``tensor`` forward + ResNet-18 train step.
* ``dks``: DKS ResNet-18 with three auxiliary branches; baseline = ResNet-18 train step.
* ``dcm``: DCM ResNet-18 | ResNet-18; baseline = two ResNet-18 train steps.
* ``afdcd``: Af-DCD with the models of ``configs/afdcd/afdcd_r18-w32-r18-w16-d8_1xb8-200_shapes-seg-128.py``
  (DeepLabV3-R18-w32 -> DeepLabV3-R18-w16, 8-class masks at ``--size``); baseline = teacher ``tensor`` forward +
  student train step.
* ``scalekd``: ScaleKD with the models of ``configs/scalekd/scalekd_vit-p8-r18-w16_1xb32-6e_shapes-cls.py`` (ViT
  p8-d64 -> ResNet-18-w16, 5 classes, 64 px: the config's token grids fix the size); baseline = teacher ``tensor``
  forward + student train step.

Example::

    python tools/analysis_tools/benchmark_distill.py --methods norm kd dks dcm --batch-size 8 --size 112
"""
import argparse
import copy
import json
import os
import resource
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


SHAPES_CONFIGS = dict(afdcd='configs/afdcd/afdcd_r18-w32-r18-w16-d8_1xb8-200_shapes-seg-128.py',
                     scalekd='configs/scalekd/scalekd_vit-p8-r18-w16_1xb32-6e_shapes-cls.py')
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


def _rss_mib() -> float:
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE') / 2**20


def _child(args) -> None:
    import mmext  # noqa: F401
    from mmext.utils import measure
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
    step = build_case(args.method, args.variant, args.device)
    base_rss = _rss_mib()
    stats = measure(lambda: step(batch), args.warmup, args.iters, args.device)
    if not args.device.startswith('cuda'):
        stats['peak_mem_mib'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0 - base_rss
    print('RESULT ' + json.dumps(stats))


def main() -> None:
    parser = argparse.ArgumentParser(description='Distillation train step vs teacher forward + student step')
    parser.add_argument('--methods', nargs='+', default=['norm', 'kd', 'dks', 'dcm'])
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--size', type=int, default=112)
    parser.add_argument('--iters', type=int, default=5)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--repeats', type=int, default=2,
                        help='alternating baseline/distill subprocess pairs; the fastest median is kept')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--method', help=argparse.SUPPRESS)
    parser.add_argument('--variant', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.variant:
        _child(args)
        return
    rows = []
    for method in args.methods:
        _distiller_cfg(method)  # validate the name early
        if args.repeats < 1:
            raise ValueError(f'--repeats must be >= 1, got {args.repeats}')
        res = {}
        for _ in range(args.repeats):
            for variant in ('baseline', 'distill'):
                cmd = [sys.executable, __file__, '--method', method, '--variant', variant, '--batch-size',
                       str(args.batch_size), '--size', str(args.size), '--iters', str(args.iters), '--warmup',
                       str(args.warmup), '--device', args.device]
                out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
                stats = json.loads([ln for ln in out.splitlines() if ln.startswith('RESULT ')][-1][7:])
                if variant not in res or stats['median_ms'] < res[variant]['median_ms']:
                    res[variant] = stats
        rows.append(dict(method=method, baseline_ms=res['baseline']['median_ms'],
                         distill_ms=res['distill']['median_ms'],
                         time_ratio=res['distill']['median_ms'] / res['baseline']['median_ms'],
                         baseline_peak_mib=res['baseline']['peak_mem_mib'],
                         distill_peak_mib=res['distill']['peak_mem_mib']))
        print('ROW ' + json.dumps(rows[-1]), flush=True)
    print(json.dumps(dict(device=args.device, threads=torch.get_num_threads(), batch_size=args.batch_size,
                          size=args.size, iters=args.iters, rows=rows), indent=2))


if __name__ == '__main__':
    main()
