"""Make sure a Shapes dataset exists at a data root, generating it atomically when it is missing."""
import json
import logging
import os
import os.path as osp
import shutil
import tempfile
import time
from typing import Dict, Optional

from mmengine.logging import print_log

from .generator import SHAPES_VERSION, generate_shapes, shapes_params

__all__ = ['ensure_shapes', 'prepare_shapes_root']


def _rank_and_barrier():
    try:
        from mmengine.dist import barrier, get_rank
        return get_rank(), barrier
    except ImportError:  # pragma: no cover - mmengine is a hard dependency of every config user
        return 0, lambda: None


def _describe(params: Dict) -> str:
    keys = ('num_train', 'num_val', 'img_size', 'seed')
    return ', '.join(f'{k}={params[k]}' for k in keys if k in params)


def _move_into_place(tmp: str, data_root: str, meta_path: str) -> None:
    """Rename the freshly generated ``tmp`` to ``data_root``. When another process (a second training started at
    the same time, not a rank of this one) has put a finished set there in the meantime, keep that one: the
    generator is deterministic, and the parameters are checked against its metadata afterwards."""
    try:
        if osp.isdir(data_root):
            os.rmdir(data_root)  # empty when checked; fails if another process has filled it since
        os.replace(tmp, data_root)
    except OSError:
        if not osp.exists(meta_path):
            raise
        print_log(f'Shapes: another process generated {data_root!r} at the same time; using its copy',
                  logger='current', level=logging.INFO)


def _generate_if_missing(data_root: str, shapes_cfg: Dict, wanted: Dict, meta_path: str) -> None:
    """Generate the set into a temporary sibling folder and rename it to ``data_root``, unless a set is there."""
    if osp.exists(meta_path):
        return
    if osp.exists(data_root) and os.listdir(data_root):
        raise ValueError(f'data_root {data_root!r} exists and is not empty but has no shapes_meta.json: it is '
                         f'not a Shapes set; refusing to write into it. Point data_root elsewhere.')
    parent = osp.dirname(osp.abspath(data_root))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix='.shapes-tmp-', dir=parent)
    print_log(f'Shapes: no dataset at {data_root!r}; generating it ({_describe(wanted)}) ...', logger='current',
              level=logging.INFO)
    start = time.perf_counter()
    try:
        generate_shapes(tmp, **shapes_cfg)
        _move_into_place(tmp, data_root, meta_path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print_log(f'Shapes: generated {data_root!r} in {time.perf_counter() - start:.1f} s', logger='current',
              level=logging.INFO)


def ensure_shapes(data_root: str, shapes_cfg: Optional[Dict] = None) -> Dict:
    """Return the metadata of the Shapes set at ``data_root``, generating it first when it is missing.

    Generation happens on rank 0 into a temporary sibling folder that is renamed into place, so an interrupted run
    never leaves a half-written dataset behind; other ranks wait at a barrier.

    Args:
        data_root (str): Where the dataset lives (e.g. ``data/shapes``).
        shapes_cfg (dict, optional): Generator parameters (see :func:`generate_shapes`): ``num_train``,
            ``num_val``, ``img_size``, ``seed``, ``max_things``, ``splits``. Defaults to the generator's defaults.

    Raises:
        ValueError: ``shapes_cfg`` has an unknown key, or ``data_root`` holds a Shapes set made with other
            parameters, or holds something that is not a Shapes set.
    """
    shapes_cfg = dict(shapes_cfg or {})
    try:
        wanted = shapes_params(**shapes_cfg)
    except TypeError as exc:
        raise ValueError(f'shapes_cfg: {exc}; allowed keys are num_train, num_val, img_size, seed, max_things, '
                         f'splits') from exc
    meta_path = osp.join(data_root, 'shapes_meta.json')
    rank, barrier = _rank_and_barrier()
    if rank == 0:
        _generate_if_missing(data_root, shapes_cfg, wanted, meta_path)
    barrier()
    with open(meta_path) as f:
        meta = json.load(f)
    if meta.get('version') != SHAPES_VERSION or meta.get('params') != wanted:
        diff = {k: (meta.get('params', {}).get(k), v) for k, v in wanted.items()
                if meta.get('params', {}).get(k) != v}
        raise ValueError(f'The Shapes set at {data_root!r} was generated with other parameters '
                         f'(key: (found, wanted)) {diff or {"version": (meta.get("version"), SHAPES_VERSION)}}. '
                         f'Delete it to regenerate, or use another data_root.')
    return meta


def prepare_shapes_root(dataset: str, data_root: Optional[str], shapes_cfg: Optional[Dict],
                        auto_generate: bool) -> None:
    """Shared by the Shapes dataset classes: check ``data_root`` and generate the set when asked to."""
    if not data_root:
        raise ValueError(f'{dataset}: data_root is required (the folder of the Shapes set, e.g. "data/shapes/")')
    if auto_generate:
        ensure_shapes(data_root, shapes_cfg)
    elif not osp.exists(osp.join(data_root, 'shapes_meta.json')):
        raise FileNotFoundError(f'{dataset}: no Shapes set at data_root={data_root!r} and auto_generate=False; run '
                                f'tools/dataset_converters/make_shapes.py --out {data_root}')
