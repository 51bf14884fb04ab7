# RON320 on the reduced VGG-16 (fc6 3x3 dilation 3 / 1024, fc7 1x1 / 1024), as models/pascalvoc/VGG16-REDUCED/
# traincudnn.prototxt: all three laterals (rpn_conv4/5/6 on conv4_3, conv5_3, fc6) are 1x1, the objectness / box
# towers start with a 1x1 conv of 256 channels, every conv of the class blocks (det_cls_score_k1/k2/k1b/k2b) has
# 256 outputs; 30 images per batch. Initialised from SSD's fc-reduced VGG-16 (mmdet's open-mmlab://vgg16_caffe, same
# key layout). Reported: 74.1 mAP (VOC07 test, 07+12 train).
_base_ = ['./ron320_vgg16_1xb20-120k_voc0712.py']

model = dict(
    backbone=dict(fc_type='reduced', init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://vgg16_caffe')),
    neck=dict(in_channels=(512, 512, 1024, 1024), lateral_kernel_sizes=1),
    bbox_head=dict(tower_channels=256, tower_kernel_size=1, cls_channels=256))
train_dataloader = dict(batch_size=30)
auto_scale_lr = dict(base_batch_size=30)
