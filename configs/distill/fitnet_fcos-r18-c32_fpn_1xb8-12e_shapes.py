# Task-agnostic core, mmdet example: FPN feature mimicking (FitNets-style MSE through a 1x1 conv + BN connector,
# one term per FPN level) from a trained quick-start FCOS teacher into a freshly initialised FCOS student of the
# same size. Train the teacher first (configs/quickstart/fcos_r18-c32_fpn_1xb8-12e_shapes.py) or point
# `teacher_ckpt` at yours. Validation evaluates the student only.
_base_ = ['../quickstart/fcos_r18-c32_fpn_1xb8-12e_shapes.py']

teacher_ckpt = 'work_dirs/fcos_r18-c32_fpn_1xb8-12e_shapes/epoch_12.pth'
model = dict(
    _delete_=True,
    type='FeatureDistiller',
    student={{_base_.model}},
    teacher='{{fileDirname}}/../quickstart/fcos_r18-c32_fpn_1xb8-12e_shapes.py',
    teacher_ckpt=teacher_ckpt,
    distill_cfgs=[
        dict(name=f'fpn{i}',
             student=dict(source='neck', index=i),
             teacher=dict(source='neck', index=i),
             connector=dict(type='DistillConvConnector', in_channels=64, out_channels=64),
             loss=dict(type='DistillMSELoss', loss_weight=1.0)) for i in range(3)
    ])
