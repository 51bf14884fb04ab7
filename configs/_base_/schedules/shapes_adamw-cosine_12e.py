# The Shapes CPU detection schedule: AdamW 2e-3 (weight decay 0.05, none on norms and biases), gradient clipping at
# 10, a linear warm-up over the first 100 iterations, then cosine to 5 % of the lr by the end of training, 12 epochs.
# The cosine scheduler sets neither `T_max` nor `end`: mmengine's runner ends it at `train_cfg.max_epochs`, so a
# config that only changes `train_cfg = dict(max_epochs=N, val_interval=N)` keeps a full cosine.
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=12, val_interval=12)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', eta_min_ratio=0.05, by_epoch=True, begin=0, convert_to_iter_based=True)
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-3, weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0., bias_decay_mult=0.),
    clip_grad=dict(max_norm=10, norm_type=2))
auto_scale_lr = dict(enable=False, base_batch_size=8)
