# ScaleKD on Shapes: the small ViT teacher (8x8 tokens, 4 blocks of 64) -> ResNet-18-w16 with the student
# baseline's recipe and 6-epoch schedule. The ViT has no stages: split=3 makes block 4 its "last stage" (TPP
# runs the student's projected stage-3 tokens, with the teacher's block-3 cls token, through them and the final
# norm). The CNN's stage 3 (64 ch @ 4x4) and stage 4 (128 ch @ 2x2) map onto the ViT's 8x8 grid through the CAP
# queries (student_hw vs query_hw): the stage mapping of ScaleKD issue #2, set here rather than by 224-px shapes.
# Loss weights of the release: alpha = (0.08, 0.06), softmax scale 5, soft-CE KD at T = 1 with alpha 0.5.
_base_ = ['./resnet18-w16-s34-ce0.5_1xb32-6e_shapes-cls.py']

teacher_ckpt = 'work_dirs/vit-p8-d64_1xb32-10e_shapes-cls/epoch_10.pth'
model = dict(
    _delete_=True,
    type='ScaleKDDistiller',
    student={{_base_.model}},
    teacher='{{fileDirname}}/vit-p8-d64_1xb32-10e_shapes-cls.py',
    teacher_ckpt=teacher_ckpt,
    teacher_stage=dict(type='vit', split=3),
    teacher_logits='head.layers.head',
    s3_projector=dict(student_channels=64, teacher_channels=64, student_hw=(4, 4), query_hw=(8, 8), num_heads=2,
                      softmax_scale=5.0),
    s4_projector=dict(student_channels=128, teacher_channels=64, student_hw=(2, 2), query_hw=(8, 8),
                      num_heads=2, softmax_scale=5.0),
    spatial_loss=dict(type='DistillMSELoss', normalize=True, reduction='batch_sum', loss_weight=0.08),
    frequency_loss=dict(type='DCTHighPassMSELoss', loss_weight=0.06),
    kd_loss=dict(type='SoftCrossEntropyKDLoss', tau=1.0, loss_weight=0.5))
