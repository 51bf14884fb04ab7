# ScaleKD with a BEiT-B/16 (mmpretrain BEiTViT, relative position bias) teacher -> ResNet-50 (traditional strategy:
# the student's own mmpretrain recipe).
# ScaleKD issue #2 (how to cut a 12-block ViT into the stages a CNN student has), answered in the config: split=9
# makes blocks 10-12 the teacher's "last stage" that TPP runs; the ViT keeps a 14x14 token grid at 224 px, so the
# ResNet's stage 3 (1024 @ 14x14) and stage 4 (2048 @ 7x7) are both mapped onto 14x14 queries by their CAPs
# (student_hw vs query_hw), instead of the release's hard-coded 224-px Swin shapes. The paper uses BEiT-L; mmpretrain
# ships BEiT-B configs, and a BEiT-L config differs only in arch and dims.
_base_ = ['mmpretrain::resnet/resnet50_8xb32_in1k.py']
default_scope = 'mmpretrain'
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)

model = dict(
    _delete_=True,
    type='ScaleKDDistiller',
    student={{_base_.model}},
    teacher='mmpretrain::beit/benchmarks/beit-base-p16_8xb64_in1k.py',
    teacher_ckpt='https://download.openmmlab.com/mmclassification/v0/beit/beit-base_3rdparty_in1k_20221114-c0a4df23.pth',
    teacher_stage=dict(type='vit', split=9),
    teacher_logits='head.fc',
    student_s3=dict(source='backbone.layer3'),
    student_s4=dict(source='backbone.layer4'),
    s3_projector=dict(student_channels=1024, teacher_channels=768, student_hw=(14, 14), query_hw=(14, 14),
                      num_heads=16, softmax_scale=5.0),
    s4_projector=dict(student_channels=2048, teacher_channels=768, student_hw=(7, 7), query_hw=(14, 14),
                      num_heads=16, softmax_scale=5.0),
    spatial_loss=dict(type='DistillMSELoss', normalize=True, reduction='batch_sum', loss_weight=0.08),
    frequency_loss=dict(type='DCTHighPassMSELoss', loss_weight=0.06),
    kd_loss=dict(type='SoftCrossEntropyKDLoss', tau=1.0, loss_weight=0.5),
    student_loss_weight=0.5)
