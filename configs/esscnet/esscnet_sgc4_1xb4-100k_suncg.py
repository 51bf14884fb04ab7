# ESSCNet, SGC pattern4, the release's SUNCG setting (zjhthu/SGC-Release ssc/sgc-pattern4): 240x144x240 flipped
# TSDF input, outputs at 60x36x60 and 30x18x30, 6 UNet levels, SGD Nesterov 0.9, wd 1e-4,
# lr 0.1 * exp(-0.5 * (epoch - 1)) over 10 epochs of 10,000 iterations, batch 4. SUNCG is no longer distributed:
# convert your copy to .npz scenes (tsdf + label, see mmext.datasets.ssc_dataset) under data/suncg_ssc/.
# Targets as the release's data tools make them: its down-sampling (downsample.hpp) and hard negatives tested on
# the TSDF of the complete labels (prepare_weight.py).
_base_ = ['mmseg::_base_/default_runtime.py']
default_scope = 'mmseg'
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)

dataset_type = 'SSCDataset'
data_root = 'data/suncg_ssc/'
train_dataloader = dict(
    batch_size=4, num_workers=4, persistent_workers=True, sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, out_stride=4, downsample='release', with_complete_tsdf=True,
                 data_prefix=dict(scenes='train')))
val_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, out_stride=4, downsample='release',
                 data_prefix=dict(scenes='test'), test_mode=True))
test_dataloader = val_dataloader
val_evaluator = dict(type='SSCMetric', num_classes=12)
test_evaluator = val_evaluator

model = dict(
    type='ESSCNet', num_classes=12, stem_channels=16, channels=64, num_levels=6, blocks_per_level=2, sgc_groups=4,
    sgc_pattern=(1, 2, 3), sgc_levels=dict(stem=True, encoder=(0, 1), decoder=(0, 1)), prune=True,
    loss=dict(type='SSCSelectedCELoss', easy_ratio=0.1, neg_ratio=2.0, hard_neg_frac=0.9,
              hard_negative_tsdf='complete'),
    data_preprocessor=dict(type='SSCDataPreprocessor'))

iters_per_epoch = 10000
train_cfg = dict(type='IterBasedTrainLoop', max_iters=10 * iters_per_epoch, val_interval=iters_per_epoch)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='SGD', lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4))
param_scheduler = [dict(type='StepLR', step_size=iters_per_epoch, gamma=0.6065306597126334, by_epoch=False)]
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=100, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=iters_per_epoch, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'))
log_processor = dict(by_epoch=False)
visualizer = dict(type='Visualizer', vis_backends=[dict(type='LocalVisBackend')], name='visualizer')
