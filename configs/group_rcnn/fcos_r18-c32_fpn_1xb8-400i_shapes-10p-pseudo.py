# Group R-CNN's student: the 10 % box-labelled images with their GT boxes + the 90 % point-only images with the
# teacher's pseudo boxes (tools/test.py on group-rcnn_r18-c32_fpn_1xb4-12e_shapes-10p.py), score > 0.
_base_ = ['./fcos_r18-c32_fpn_1xb8-400i_shapes-100p.py']

train_dataloader = dict(
    dataset=dict(pseudo_ann_file='work_dirs/group-rcnn_r18-c32_fpn_1xb4-12e_shapes-10p/pseudo.bbox.json',
                 pseudo_score_thr=0.))
