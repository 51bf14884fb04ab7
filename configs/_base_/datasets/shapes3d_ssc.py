# Shapes-3D semantic scene completion (12 SUNCG/NYU SSC classes) for mmseg: 64x32x64 voxel rooms with furniture,
# a ray-cast single-view depth map turned into SSCNet's flipped TSDF (input) and the complete labels (target at
# 1/4 = 16x8x16 and 1/8 = 8x4x8). Generated on first use under data_root, deterministic from the seed.
dataset_type = 'Shapes3DSSCDataset'
data_root = 'data/shapes3d/'
shapes3d_cfg = dict(num_train=200, num_val=40, shape=(64, 32, 64), seed=0, max_objects=6, splits=['train', 'val'])
train_dataloader = dict(
    batch_size=2,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, shapes3d_cfg=shapes3d_cfg, out_stride=4,
                 data_prefix=dict(scenes='scenes/train')))
val_dataloader = dict(
    batch_size=2,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, shapes3d_cfg=shapes3d_cfg, out_stride=4,
                 data_prefix=dict(scenes='scenes/val'), test_mode=True))
test_dataloader = val_dataloader
val_evaluator = dict(type='SSCMetric', num_classes=12)
test_evaluator = val_evaluator
