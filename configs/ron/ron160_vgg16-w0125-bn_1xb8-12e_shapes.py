# The RON Shapes light variant of ron160_vgg16-w0125-bn_1xb8-2e_shapes.py trained for 12 epochs (600 iterations),
# the quick-start schedule.
_base_ = './ron160_vgg16-w0125-bn_1xb8-2e_shapes.py'

train_cfg = dict(max_epochs=12, val_interval=12)  # the warm-up and cosine follow (see the base schedule)
