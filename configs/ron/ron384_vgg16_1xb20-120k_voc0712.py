# RON384: RON320 at 384x384 input. Reported: 75.4 mAP (VOC07 test, 07+12 train; arXiv:1707.01691 / release).
# The release suggests cfg.MINANCHOR 38 for 384 input (32 for 320).
_base_ = ['./ron320_vgg16_1xb20-120k_voc0712.py']

input_size = 384
model = dict(bbox_head=dict(anchor_generator=dict(base_size=38)))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Expand', mean={{_base_.mean_bgr}}, to_rgb=False, ratio_range=(1, 2), prob=0.5),
    dict(type='MinIoURandomCrop', min_ious=(0.1, 0.3, 0.5, 0.7, 0.9), min_crop_size=0.4),
    dict(type='RandomChoice', transforms=[[dict(type='Brightness', min_mag=0.5, max_mag=1.5)],
                                          [dict(type='Contrast', min_mag=0.5, max_mag=1.5)],
                                          [dict(type='Color', min_mag=0.5, max_mag=1.5)]]),
    dict(type='RandomChoiceResize', scales=[(input_size, input_size), (320, 320)], keep_ratio=False),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(input_size, input_size), keep_ratio=False),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
voc_train = [
    dict(type='VOCDataset', data_root='data/VOCdevkit/', ann_file=f'VOC{year}/ImageSets/Main/trainval.txt',
         data_prefix=dict(sub_data_root=f'VOC{year}/'), filter_cfg=dict(filter_empty_gt=True, min_size=1),
         pipeline=train_pipeline) for year in ('2007', '2012')
]
train_dataloader = dict(dataset=dict(datasets=voc_train))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
