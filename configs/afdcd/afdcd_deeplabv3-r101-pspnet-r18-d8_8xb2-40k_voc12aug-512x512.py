# Af-DCD, DeepLabV3-R101 -> PSPNet-R18, Pascal VOC aug: the paper reports 73.33 -> 76.14 mIoU.
# The student and recipe of pspnet_r18-d8_8xb2-40k_voc12aug-512x512.py; lambda_kd 1, lambda_fd 1e-06, lambda_ctr 0.005
# (the release's script for this setting); 75 % random mask, 3x3-ReLU-3x3 projector, tau 0.07, 4x4 patches after a
# 4x max-pool, 16 channel groups; the loss module's gradient norm clipped at 15.
_base_ = ['./pspnet_r18-d8_8xb2-40k_voc12aug-512x512.py']

model = dict(
    _delete_=True,
    type='AfDCDDistiller',
    student={{_base_.model}},
    teacher='mmseg::deeplabv3/deeplabv3_r101-d8_4xb4-40k_voc12aug-512x512.py',
    # mmseg's DeepLabV3-R101 (77.92 mIoU in its model zoo; the release's teachers are CIRKD models with another key
    # layout). Download it, or point teacher_ckpt at your own teacher:
    teacher_ckpt='https://download.openmmlab.com/mmsegmentation/v0.5/deeplabv3/deeplabv3_r101-d8_512x512_40k_voc12aug/deeplabv3_r101-d8_512x512_40k_voc12aug_20200613_161432-0017d784.pth',
    student_channels=512,
    teacher_channels=2048,
    projector=dict(mask_ratio=0.75, random_mask=True, enhanced=False),
    fd_loss=dict(type='DistillMSELoss', reduction='batch_sum', loss_weight=1e-06),
    contrastive_loss=dict(type='OmniContrastiveLoss', tau=0.07, num_groups=16, patch_size=(4, 4), pool_size=4,
                          loss_weight=0.005),
    kd_loss=dict(type='DistillKLDivLoss', tau=1.0, loss_weight=1),
    module_grad_clip=dict(modules=['projector'], max_norm=15, norm_type=2))
# Af-DCD clips its loss module's gradients in a pre-hook of the optimizer step; this hook attaches it under every
# launcher (DDP wrappers bypass the distiller's train_step).
custom_hooks = [dict(type='ModuleGradClipHook')]
