# Proposal recall of hypernet_vgg16_1xb2-4e_voc0712.py on VOC07 test (the paper's headline: recall at IoU 0.5 /
# 0.7 with 50 / 100 / 300 proposals). ProposalRecallMetric (mmdet's CocoMetric(proposal_fast), numpy-2 safe)
# needs COCO-format annotations of VOC07 test, e.g. voc07_test.json from mmdet's
# tools/dataset_converters/pascal_voc.py --out-format coco.
_base_ = './hypernet_vgg16_1xb2-4e_voc0712.py'

model = dict(type='TwoStageProposalDetector', test_cfg=dict(rpn=dict(max_per_img=300)))
test_evaluator = [
    dict(type='ProposalRecallMetric', ann_file='data/coco/annotations/voc07_test.json',
         proposal_nums=(50, 100, 300), iou_thrs=[0.5], prefix='recall@0.5'),
    dict(type='ProposalRecallMetric', ann_file='data/coco/annotations/voc07_test.json',
         proposal_nums=(50, 100, 300), iou_thrs=[0.7], prefix='recall@0.7'),
]
