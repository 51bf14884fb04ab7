"""Add one point per instance to a COCO instances json (Group R-CNN's point protocol).

One pixel drawn uniformly from each instance mask (seeded), or uniformly from the box when the instance has no
mask; stored as ``point = [x, y, x, y]``. The output replaces the instances file for
:class:`mmext.datasets.PointCocoDataset`.

Example::

    python tools/dataset_converters/coco_to_points.py data/coco/annotations/instances_train2017.json \
        data/coco/point_ann/instances_train2017.json --seed 0
"""
import argparse
import json
import os
import os.path as osp

from mmext.datasets.point_generation import add_points_to_coco


def main() -> None:
    parser = argparse.ArgumentParser(description='Add one point per instance to a COCO instances json')
    parser.add_argument('src', help='COCO instances json')
    parser.add_argument('dst', help='output json (same content plus "point" on every annotation)')
    parser.add_argument('--seed', type=int, default=0, help='seed of the point sampling (release: 0)')
    args = parser.parse_args()
    if osp.abspath(args.src) == osp.abspath(args.dst):
        parser.error('dst must differ from src (the source annotations are kept)')
    with open(args.src) as f:
        coco = json.load(f)
    out = add_points_to_coco(coco, seed=args.seed)
    if osp.dirname(args.dst):
        os.makedirs(osp.dirname(args.dst), exist_ok=True)
    with open(args.dst, 'w') as f:
        json.dump(out, f)
    print(f'wrote {len(out["annotations"])} points to {args.dst}')


if __name__ == '__main__':
    main()
