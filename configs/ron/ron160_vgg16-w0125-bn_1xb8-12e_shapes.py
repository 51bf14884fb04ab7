# The RON Shapes light variant of ron160_vgg16-w0125-bn_1xb8-2e_shapes.py trained for 12 epochs (600 iterations),
# the quick-start schedule.
_base_ = './ron160_vgg16-w0125-bn_1xb8-2e_shapes.py'

max_epochs = 12
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=20),
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min_ratio=0.05, by_epoch=True, begin=0, end=max_epochs,
         convert_to_iter_based=True)
]
