# Proposal recall of faster-rcnn_vgg16-w0125-bn_fpn_1xb4-2e_shapes.py (tools/test.py with its checkpoint):
# the top 300 proposals (NMS 0.7) are scored by ProposalRecallMetric (CocoMetric's proposal_fast) at IoU
# 0.5 / 0.7 for 50 / 100 / 300 proposals.
_base_ = './faster-rcnn_vgg16-w0125-bn_fpn_1xb4-2e_shapes.py'

model = dict(type='TwoStageProposalDetector', test_cfg=dict(rpn=dict(max_per_img=300)))
test_evaluator = [
    dict(type='ProposalRecallMetric', ann_file='data/shapes/annotations/instances_val.json',
         proposal_nums=(50, 100, 300), iou_thrs=[0.5], prefix='recall@0.5'),
    dict(type='ProposalRecallMetric', ann_file='data/shapes/annotations/instances_val.json',
         proposal_nums=(50, 100, 300), iou_thrs=[0.7], prefix='recall@0.7'),
]
