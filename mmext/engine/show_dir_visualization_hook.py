"""``tools/test.py --show/--show-dir``: every ``interval``-th test image painted by the package's own visualizer
into one directory, for detection, segmentation and classification alike.

Upstream, mmdet's ``DetVisualizationHook`` writes every image to ``work_dir/<timestamp>/DIR``, mmseg's
``SegVisualizationHook`` every 50th *batch* through the visualizer backends to ``DIR/vis_data/vis_image/`` and
mmpretrain's ``VisualizationHook`` every 5000th sample to ``DIR/<name>_<step>.png``. mmext's ``tools/test.py``
uses this one hook for all three (see :func:`mmext.apis.enable_visualization`).
"""
import os.path as osp
from typing import Optional, Sequence

import mmcv
from mmengine.fileio import get
from mmengine.hooks import Hook
from mmengine.utils import mkdir_or_exist

from ..registry import register

__all__ = ['ShowDirVisualizationHook']


@register('HOOKS')
class ShowDirVisualizationHook(Hook):
    """Paint test predictions (and ground truth) with ``runner.visualizer`` for every ``interval``-th image.

    Args:
        out_dir (str, optional): Directory for the painted images, one file per image named like the image.
            None shows only (with ``show=True``). Defaults to None.
        interval (int): Paint images 0, interval, 2 * interval, ... of the test set (counted in images,
            not batches). Defaults to 1 (every image).
        show (bool): Also show each painted image in a window. Defaults to False.
        wait_time (float): Seconds each shown image stays. Defaults to 0.
        draw_gt (bool): Paint the ground truth next to the prediction. Defaults to True.
        score_thr (float): Detection score threshold (mmdet's ``pred_score_thr``); ignored for segmentation.
            Defaults to 0.3 (mmdet's hook default).
        Classification images are painted with ``UniversalVisualizer.visualize_cls``.
        backend_args (dict, optional): File backend of the images. Defaults to None.
    """

    priority = 'NORMAL'

    def __init__(self, out_dir: Optional[str] = None, interval: int = 1, show: bool = False,
                 wait_time: float = 0.0, draw_gt: bool = True, score_thr: float = 0.3,
                 backend_args: Optional[dict] = None) -> None:
        if isinstance(interval, bool) or not isinstance(interval, int) or interval < 1:
            raise ValueError(f'ShowDirVisualizationHook: interval must be a positive int, got {interval!r}')
        if out_dir is None and not show:
            raise ValueError('ShowDirVisualizationHook: give out_dir, show=True, or both')
        self.out_dir, self.interval, self.show, self.wait_time = out_dir, interval, show, wait_time
        self.draw_gt, self.score_thr, self.backend_args = draw_gt, score_thr, backend_args
        self._index = 0

    def before_test(self, runner) -> None:
        self._index = 0
        if self.out_dir is not None:
            mkdir_or_exist(self.out_dir)

    def after_test_iter(self, runner, batch_idx: int, data_batch: dict = None,
                        outputs: Optional[Sequence] = None) -> None:
        visualizer = runner.visualizer
        classify = hasattr(visualizer, 'visualize_cls')  # mmpretrain's UniversalVisualizer
        extra = {}
        if not classify and 'pred_score_thr' in _params(visualizer):
            extra['pred_score_thr'] = self.score_thr
        for sample in outputs or ():
            index, self._index = self._index, self._index + 1
            if index % self.interval:
                continue
            img_path = sample.img_path
            img = mmcv.imfrombytes(get(img_path, backend_args=self.backend_args), channel_order='rgb')
            name = osp.basename(img_path)
            out_file = None if self.out_dir is None else osp.join(self.out_dir, name)
            if classify:
                visualizer.visualize_cls(img, sample, draw_gt=self.draw_gt, show=self.show,
                                         wait_time=self.wait_time, out_file=out_file, name=name, step=index)
            else:
                visualizer.add_datasample(name, img, data_sample=sample, draw_gt=self.draw_gt, show=self.show,
                                          wait_time=self.wait_time, out_file=out_file, step=index, **extra)


def _params(visualizer) -> Sequence[str]:
    import inspect
    return tuple(inspect.signature(visualizer.add_datasample).parameters)
