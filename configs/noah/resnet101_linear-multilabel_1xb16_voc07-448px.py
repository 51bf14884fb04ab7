# Multi-label baseline on PASCAL VOC 2007 (mmpretrain's CSRA recipe, 448 px, ImageNet-pretrained ResNet-101):
# GAP + MultiLabelLinearClsHead. Paired with resnet101_noah-multilabel_1xb16_voc07-448px.py.
_base_ = ['mmpretrain::csra/resnet101-csra_1xb16_voc07-448px.py']
default_scope = 'mmpretrain'
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)
model = dict(
    neck=dict(_delete_=True, type='GlobalAveragePooling'),
    head=dict(
        _delete_=True,
        type='MultiLabelLinearClsHead',
        num_classes=20,
        in_channels=2048,
        loss=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)))
