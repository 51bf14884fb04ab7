# Student of Group R-CNN (the release's 01_student_fcos.py): FCOS R-50-caffe FPN (GN head), 1x schedule (lr 0.01,
# bias lr x2, constant warm-up, steps 8 / 11, grad clip 35, mmdet's fcos_r50-caffe_fpn_gn-head_1x_coco.py), trained
# on the 10 % box-labelled COCO images with their GT boxes plus the 90 % point-only images with the teacher's pseudo
# boxes (score > 0, the release's student_thr). Same split as the teacher (box_ratio, split_seed, filter_cfg).
_base_ = 'mmdet::fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py'
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)

pseudo_ann_file = 'work_dirs/group-rcnn_r50_fpn_8xb2-24e_coco-10p/pseudo.bbox.json'
train_dataloader = dict(
    dataset=dict(
        type='PointCocoDataset',
        ann_file='point_ann/instances_train2017.json',
        box_ratio=0.1,
        split_seed=0,
        split='all',
        with_point=False,
        pseudo_ann_file=pseudo_ann_file,
        pseudo_score_thr=0.,
        filter_cfg=dict(filter_empty_gt=True, min_size=32)))
