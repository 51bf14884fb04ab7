# Af-DCD on Shapes: the DeepLabV3-R18-w16 teacher trained for 2400 iterations
# (deeplabv3_r18-w16-d8_1xb8-2400_shapes-seg-128.py, c4 128 ch) -> the same quarter-width DeepLabV3-R18 student
# (c4 128 ch, so the align conv is the identity) with the student baseline's recipe and 800-iteration schedule.
# Cityscapes weights (lambda_kd 1, lambda_ctr 0.005); lambda_fd = 2e-6 (Cityscapes) x 512, the ratio of c4 elements
# per image (2048 x 64 x 128 on a 512x1024 crop vs 128 x 16 x 16 here), because L_fd is a sum over elements; the
# contrastive term is a mean and keeps its weight. c4 is 16x16 at 128 px: pool 4 -> 4x4, one 4x4 patch, 16 groups
# of 8 channels.
_base_ = ['./deeplabv3_r18-w16-d8_1xb8-800_shapes-seg-128.py']

teacher_ckpt = 'work_dirs/deeplabv3_r18-w16-d8_1xb8-2400_shapes-seg-128/iter_2400.pth'
model = dict(
    _delete_=True,
    type='AfDCDDistiller',
    student={{_base_.model}},
    teacher='{{fileDirname}}/deeplabv3_r18-w16-d8_1xb8-2400_shapes-seg-128.py',
    teacher_ckpt=teacher_ckpt,
    student_channels=128,
    teacher_channels=128,
    projector=dict(mask_ratio=0.75, random_mask=True, enhanced=False),
    fd_loss=dict(type='DistillMSELoss', reduction='batch_sum', loss_weight=2e-6 * 512),
    contrastive_loss=dict(type='OmniContrastiveLoss', tau=0.07, num_groups=16, patch_size=(4, 4), pool_size=4,
                          loss_weight=0.005),
    kd_loss=dict(type='DistillKLDivLoss', tau=1.0, loss_weight=1.0),
    module_grad_clip=dict(modules=['projector'], max_norm=15, norm_type=2))
# Af-DCD clips its loss module's gradients in a pre-hook of the optimizer step; this hook attaches it under every
# launcher (DDP wrappers bypass the distiller's train_step).
custom_hooks = [dict(type='ModuleGradClipHook')]
