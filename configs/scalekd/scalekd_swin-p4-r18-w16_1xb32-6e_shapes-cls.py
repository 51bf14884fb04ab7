# ScaleKD on Shapes with the small Swin teacher (swin-p4-d16_1xb16-100e_shapes-cls.py, 100 epochs) -> ResNet-18-w16,
# the student baseline's recipe and 6-epoch schedule. The teacher's stage 3 (64 ch @ 4x4) and stage 4 (128 ch @ 2x2)
# have the student's stage-3 / stage-4 shapes; TPP runs the student's projected stage-3 tokens through the
# teacher's stage-3 patch merging, stage 4 and its norm. Loss weights: the feature terms are sums over the
# teacher's last-stage positions (2 x 2 here, 7 x 7 for the release's Swin-L at 224 px) and the CE starts at ln 5
# here (ln 1000 on ImageNet), so alpha = (0.08, 0.06) x 3 (~ 49 / 4 x ln 5 / ln 1000) keeps the release's ratio of
# feature terms to CE at initialisation; softmax scale 5, soft-CE KD at T = 1 with alpha 0.5.
_base_ = ['./scalekd_vit-p8-r18-w16_1xb32-6e_shapes-cls.py']

teacher_ckpt = 'work_dirs/swin-p4-d16_1xb16-100e_shapes-cls/epoch_100.pth'
model = dict(
    teacher='{{fileDirname}}/swin-p4-d16_1xb16-100e_shapes-cls.py',
    teacher_ckpt=teacher_ckpt,
    teacher_stage=dict(_delete_=True, type='swin'),
    teacher_logits='head.fc',
    s3_projector=dict(teacher_channels=64, query_hw=(4, 4), num_heads=2),
    s4_projector=dict(teacher_channels=128, query_hw=(2, 2), num_heads=4),
    spatial_loss=dict(loss_weight=0.08 * 3),
    frequency_loss=dict(loss_weight=0.06 * 3))
