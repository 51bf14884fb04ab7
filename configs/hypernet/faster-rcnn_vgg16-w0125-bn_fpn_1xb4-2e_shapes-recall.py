# Proposal recall of faster-rcnn_vgg16-w0125-bn_fpn_1xb4-2e_shapes.py: load its checkpoint with tools/test.py; the proposal module's top 300
# proposals (NMS 0.7) are scored with mmdet's CocoMetric(proposal_fast) at IoU 0.5 and 0.7 for 50 / 100 / 300.
_base_ = './faster-rcnn_vgg16-w0125-bn_fpn_1xb4-2e_shapes.py'

model = dict(type='TwoStageProposalDetector', test_cfg=dict(rpn=dict(max_per_img=300)))
test_evaluator = [
    dict(type='CocoMetric', ann_file={{_base_.data_root}} + 'annotations/instances_val.json',
         metric='proposal_fast', proposal_nums=(50, 100, 300), iou_thrs=[0.5], prefix='recall@0.5'),
    dict(type='CocoMetric', ann_file={{_base_.data_root}} + 'annotations/instances_val.json',
         metric='proposal_fast', proposal_nums=(50, 100, 300), iou_thrs=[0.7], prefix='recall@0.7'),
]
