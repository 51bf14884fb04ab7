"""Generating a Shapes set on first use is logged (where, with which parameters, how long); reuse is silent."""
import uuid

from mmengine.logging import MMLogger

from mmext.datasets.shapes import ensure_shapes


def test_generation_on_first_use_is_logged(tmp_path):
    log = tmp_path / 'log.txt'
    MMLogger.get_instance(f'shapes_log_{uuid.uuid4().hex}', log_file=str(log))  # the current logger
    root = str(tmp_path / 'shapes')
    cfg = dict(num_train=2, num_val=1, img_size=32, seed=1, max_things=1, splits=['train', 'val'])
    ensure_shapes(root, cfg)
    text = log.read_text()
    assert f"Shapes: no dataset at {root!r}; generating it (num_train=2, num_val=1, img_size=32, seed=1)" in text
    assert f'Shapes: generated {root!r} in ' in text
    ensure_shapes(root, cfg)
    assert log.read_text().count('generating it') == 1
