# Af-DCD, DeepLabV3-R101 -> DeepLabV3-R18, CamVid: the paper reports 66.92 -> 69.27 mIoU.
# The student and recipe of deeplabv3_r18-d8_8xb2-40k_camvid-360x360.py; the release's CamVid script: lambda_kd 1,
# lambda_fd 8e-6,
# lambda_ctr 0.01; its CamVid path of the contrastive loss crops the 45x45 c4 maps to 44x44 instead of pooling.
# Train the teacher first (deeplabv3_r101-d8_8xb2-40k_camvid-360x360.py; the release's CamVid teacher: 69.84 mIoU).
_base_ = ['./deeplabv3_r18-d8_8xb2-40k_camvid-360x360.py']

model = dict(
    _delete_=True,
    type='AfDCDDistiller',
    student={{_base_.model}},
    teacher='{{fileDirname}}/deeplabv3_r101-d8_8xb2-40k_camvid-360x360.py',
    teacher_ckpt='work_dirs/deeplabv3_r101-d8_8xb2-40k_camvid-360x360/iter_40000.pth',
    student_channels=512,
    teacher_channels=2048,
    projector=dict(mask_ratio=0.75, random_mask=True, enhanced=False),
    fd_loss=dict(type='DistillMSELoss', reduction='batch_sum', loss_weight=8e-6),
    contrastive_loss=dict(type='OmniContrastiveLoss', tau=0.07, num_groups=16, patch_size=(4, 4), pool_size=0,
                          crop_size=(44, 44), loss_weight=0.01),
    kd_loss=dict(type='DistillKLDivLoss', tau=1.0, loss_weight=1.0),
    module_grad_clip=dict(modules=['projector'], max_norm=15, norm_type=2))
# Af-DCD clips its loss module's gradients in a pre-hook of the optimizer step; this hook attaches it under every
# launcher (DDP wrappers bypass the distiller's train_step).
custom_hooks = [dict(type='ModuleGradClipHook')]
