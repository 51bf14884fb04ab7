"""CASNet's instance output through mmdet's CityScapesMetric (cityscapesscripts' result format)."""
import os.path as osp
from types import SimpleNamespace

import mmcv
import numpy as np
import pytest
import torch
from mmdet.datasets import CityscapesDataset
from mmdet.evaluation.metrics import cityscapes_metric
from mmengine.config import Config

from tests.conftest import REPO
from tests.test_det.test_casnet import INSTANCE_CFG, _build, _sample

CITYSCAPES_CFG = f'{REPO}/configs/casnet/casnet_r50_fpn_8xb1-64e_cityscapes-instance{{}}.py'
CLASSES = CityscapesDataset.METAINFO['classes']


@pytest.mark.parametrize('suffix', ['', '-separated'])
def test_cityscapes_instance_configs_evaluate_with_coco_and_cityscapes_metrics(suffix):
    cfg = Config.fromfile(CITYSCAPES_CFG.format(suffix))
    for evaluators in (cfg.val_evaluator, cfg.test_evaluator):
        assert [e['type'] for e in evaluators] == ['CocoMetric', 'CityScapesMetric']
        assert evaluators[1]['seg_prefix'].endswith('gtFine/val')
    assert cfg.model.semantic_head.num_things_classes == len(CLASSES) == 8


def test_casnet_predictions_in_the_cityscapes_result_format(monkeypatch, tmp_path):
    """CityScapesMetric.process writes one PNG per CASNet instance and a txt line ``png label_id score``.

    cityscapesscripts is not a dependency here: its label table is stubbed (ids 24..31 for the 8 classes, as in
    cityscapesscripts' ``labels.py``) and only the conversion is run, not the evaluator (no Cityscapes data)."""
    ids = dict(zip(CLASSES, range(24, 32)))
    monkeypatch.setattr(cityscapes_metric, 'HAS_CITYSCAPESAPI', True)
    monkeypatch.setattr(cityscapes_metric, 'CSLabels', SimpleNamespace(
        name2label={n: SimpleNamespace(id=i) for n, i in ids.items()}), raising=False)
    # the Cityscapes configs have no instance classifier: the class from the semantic logits, as there
    model = _build(INSTANCE_CFG, semantic_head=dict(num_things_classes=8), instance_classifier=None)
    model.eval()
    head, sample = model.attribute_head, _sample()
    enc = head.encode_targets((16, 16), [sample])
    sem = torch.full((1, 9, 16, 16), -9.)
    sem[0, 8] = 9.
    for i, lab in enumerate(sample.gt_instances.labels.tolist()):
        sem[0, 8][enc['owner'][0] == i], sem[0, lab][enc['owner'][0] == i] = -9., 9.
    attr = dict(dist=enc['dist'], centre=enc['centre'], quality=torch.full((1, 1, 16, 16), 9.))
    monkeypatch.setattr(model, '_heads', lambda inputs: (dict(seg_preds=sem), attr))
    query = _sample(things=False)
    query.set_metainfo(dict(img_path='leftImg8bit/val/frankfurt/frankfurt_000000_000294_leftImg8bit.png'))
    pred = model.predict(torch.zeros(1, 3, 64, 64), [query])[0]
    assert len(pred.pred_instances) == 2
    metric = cityscapes_metric.CityScapesMetric(outfile_prefix=str(tmp_path), seg_prefix='gtFine/val')
    metric.dataset_meta = dict(classes=CLASSES)
    metric.process({}, [pred.to_dict()])
    gt, res = metric.results[0]
    assert gt['file_name'].endswith('gtFine/val/frankfurt/frankfurt_000000_000294_gtFine_instanceIds.png')
    lines = open(res['pred_txt']).read().split('\n')[:-1]
    assert len(lines) == 2
    for line, mask, label, score in zip(lines, pred.pred_instances.masks, pred.pred_instances.labels,
                                        pred.pred_instances.scores):
        png, class_id, s = line.split(' ')
        assert int(class_id) == ids[CLASSES[label]] and float(s) == pytest.approx(float(score))
        written = mmcv.imread(osp.join(osp.dirname(res['pred_txt']), png), flag='unchanged')
        np.testing.assert_array_equal(written > 0, mask.numpy())
