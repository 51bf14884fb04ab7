"""Export the student of an mmext distiller checkpoint as a plain model checkpoint.

The output holds only the chosen network's weights, without the ``student.`` prefix, without the teacher,
auxiliary branches and connectors, and with re-parameterisable modules folded (NORM's feature transform goes into
the classifier), so the student's own config loads it with ``load_from`` (or ``tools/test.py``)::

    python tools/model_converters/export_student.py CONFIG DISTILL_CKPT OUT.pth [--network peer] \
        [--out-config student_config.py]

The teacher is not built (``build_teacher=False``), so its checkpoint need not be present.
"""
import argparse
import copy
import os
import os.path as osp
import sys
from typing import Optional

import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import mmext  # noqa: E402,F401  (registers mmext; safe checkpoint loading)
from mmext.utils import safe_load  # noqa: E402

__all__ = ['export_student']


def export_student(config: str, checkpoint: str, out: str, network: str = 'student',
                   out_config: Optional[str] = None) -> dict:
    """Build the distiller of ``config`` without its teacher, load ``checkpoint`` strictly and write the network.

    Returns:
        dict: The exported state dict.
    """
    from mmengine.config import Config
    from mmengine.registry import MODELS, DefaultScope
    cfg = Config.fromfile(config)
    model_cfg = copy.deepcopy(cfg.model)
    if 'student' not in model_cfg:
        raise KeyError(f'{config}: model has no `student`; is it an mmext distiller config?')
    model_cfg['build_teacher'] = False
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        distiller = MODELS.build(model_cfg)
    ckpt = safe_load(checkpoint, map_location='cpu')
    state = ckpt.get('state_dict', ckpt)
    distiller.load_state_dict(state, strict=True)
    distiller.eval()
    exported = distiller.export_state_dict(network)
    meta = dict(ckpt.get('meta', {})) if isinstance(ckpt.get('meta'), dict) else {}
    meta.update(exported_from=osp.abspath(checkpoint), exported_network=network,
                distiller=type(distiller).__name__)
    meta = {k: v for k, v in meta.items() if isinstance(v, (str, int, float, bool, type(None)))}
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    torch.save(dict(state_dict=exported, meta=meta), out)
    if out_config:
        student_cfg = copy.deepcopy(cfg)
        student_cfg.model = copy.deepcopy(cfg.model[network])
        for key in ('custom_hooks', ):
            hooks = [h for h in student_cfg.get(key, []) if h.get('type') != 'DistillLossWeightHook']
            student_cfg[key] = hooks
        student_cfg.dump(out_config)
    return exported


def main() -> None:
    parser = argparse.ArgumentParser(description='Export the student of an mmext distiller checkpoint')
    parser.add_argument('config', help='the distiller config used for training')
    parser.add_argument('checkpoint', help='a distiller checkpoint (e.g. work_dirs/x/epoch_100.pth)')
    parser.add_argument('out', help='output checkpoint path')
    parser.add_argument('--network', default='student',
                        help='which trained network to export (DCM: "student" or "peer"); default student')
    parser.add_argument('--out-config', help='also write a standalone config of the exported network')
    args = parser.parse_args()
    state = export_student(args.config, args.checkpoint, args.out, args.network, args.out_config)
    print(f'exported {args.network}: {len(state)} tensors, '
          f'{sum(v.numel() for v in state.values() if v.is_floating_point())} values -> {args.out}')


if __name__ == '__main__':
    main()
