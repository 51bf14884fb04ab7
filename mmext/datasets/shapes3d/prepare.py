"""Write a Shapes-3D split to disk once (``scenes/<split>/<index>.npz``) and check the parameters stamp."""
import json
import os
import os.path as osp
from typing import Dict, Optional

import numpy as np

from .generator import SHAPES3D_VERSION, generate_scene

__all__ = ['shapes3d_params', 'ensure_shapes3d']

_SPLIT_OFFSET = dict(train=0, val=1_000_003, test=2_000_003)


def shapes3d_params(num_train: int = 200, num_val: int = 40, shape=(64, 32, 64), seed: int = 0,
                    max_objects: int = 6, image_hw=(48, 64), trunc: float = 3.0, splits=('train', 'val')) -> Dict:
    """The generator parameters with their defaults (what a config's ``shapes3d_cfg`` may set)."""
    return dict(num_train=int(num_train), num_val=int(num_val), shape=[int(s) for s in shape], seed=int(seed),
                max_objects=int(max_objects), image_hw=[int(s) for s in image_hw], trunc=float(trunc),
                splits=list(splits), version=SHAPES3D_VERSION)


def ensure_shapes3d(data_root: str, cfg: Optional[Dict] = None) -> Dict:
    """Generate the set under ``data_root`` unless a stamp with the same parameters is there already."""
    params = shapes3d_params(**{k: v for k, v in (cfg or {}).items() if k != 'version'})
    stamp = osp.join(data_root, 'shapes3d.json')
    if osp.exists(stamp):
        with open(stamp) as f:
            old = json.load(f)
        if old == params:
            return params
        raise ValueError(f'{data_root} holds a Shapes-3D set generated with {old}, not {params}; '
                         'use another data_root or delete it')
    for split in params['splits']:
        if split not in _SPLIT_OFFSET:
            raise ValueError(f'shapes3d_cfg.splits: unknown split {split!r}; expected a subset of '
                             f'{sorted(_SPLIT_OFFSET)}')
        num = params['num_val'] if split != 'train' else params['num_train']
        out = osp.join(data_root, 'scenes', split)
        os.makedirs(out, exist_ok=True)
        for i in range(num):
            scene = generate_scene(params['seed'] * 7_919 + _SPLIT_OFFSET[split] + i, params['shape'],
                                   params['max_objects'], params['image_hw'], params['trunc'])
            np.savez_compressed(osp.join(out, f'{i:05d}.npz'), **scene)
    with open(stamp, 'w') as f:
        json.dump(params, f, indent=1)
    return params
