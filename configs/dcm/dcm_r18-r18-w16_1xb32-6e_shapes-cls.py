# DCM on Shapes classification: two quarter-width ResNet-18s (the baseline configs/distill/resnet18-w16_1xb32-6e_
# shapes-cls.py, same recipe and schedule) trained together from scratch, each with the three DKS-style branches,
# dense bidirectional cross-network KL between all 4 + 4 heads (32 terms), weights 1, temperature 1.
# Validation evaluates network 1 (`student`); export either with tools/model_converters/export_student.py.
_base_ = ['../distill/resnet18-w16_1xb32-6e_shapes-cls.py']

num_classes = 5
aux_heads = [
    dict(source='backbone.layer1',
         head=dict(type='ResNetAuxClassifier', in_channels=16, num_classes=num_classes,
                   stages=[(32, 2, 2), (64, 1, 2), (128, 1, 2)])),
    dict(source='backbone.layer2',
         head=dict(type='ResNetAuxClassifier', in_channels=32, num_classes=num_classes,
                   stages=[(64, 2, 2), (128, 1, 2)])),
    dict(source='backbone.layer3',
         head=dict(type='ResNetAuxClassifier', in_channels=64, num_classes=num_classes,
                   stages=[(256, 2, 2)])),
]
model = dict(
    _delete_=True,
    type='DCMDistiller',
    student={{_base_.model}},
    peer={{_base_.model}},
    student_aux_heads=aux_heads,
    peer_aux_heads=aux_heads)
