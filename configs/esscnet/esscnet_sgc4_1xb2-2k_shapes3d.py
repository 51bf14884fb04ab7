# ESSCNet with SGC pattern4 ((x + 2y + 3z) mod 4) on Shapes-3D, sized for a CPU: 4 UNet levels (the 64x32x64 grid
# is 16x8x16 at 1/4), release widths (16 / 64), 2 residual blocks per level, the release's loss ratios and
# optimiser; its exponential decay lr = 0.1 * exp(-0.5 * (epoch - 1)) with one "epoch" = 200 iterations here
# (10,000 in the release).
_base_ = [
    '../_base_/datasets/shapes3d_ssc.py',
    'mmseg::_base_/default_runtime.py',
]
default_scope = 'mmseg'
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)

model = dict(
    type='ESSCNet',
    num_classes=12,
    stem_channels=16,
    channels=64,
    num_levels=4,
    blocks_per_level=2,
    sgc_groups=4,
    sgc_pattern=(1, 2, 3),
    sgc_levels=dict(stem=True, encoder=(0, 1), decoder=(0, 1)),
    prune=True,
    loss=dict(type='SSCSelectedCELoss', easy_ratio=0.1, neg_ratio=2.0, hard_neg_frac=0.9),
    data_preprocessor=dict(type='SSCDataPreprocessor'))

iters_per_epoch = 200
train_cfg = dict(type='IterBasedTrainLoop', max_iters=10 * iters_per_epoch, val_interval=5 * iters_per_epoch)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='SGD', lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4))
param_scheduler = [dict(type='StepLR', step_size=iters_per_epoch, gamma=0.6065306597126334, by_epoch=False)]
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=20, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=5 * iters_per_epoch, max_keep_ckpts=2),
    sampler_seed=dict(type='DistSamplerSeedHook'))
log_processor = dict(by_epoch=False)
visualizer = dict(type='Visualizer', vis_backends=[dict(type='LocalVisBackend')], name='visualizer')
randomness = dict(seed=0)
