"""Generate the Shapes dataset (images + COCO instances, COCO panoptic, semantic masks, classification crops).

Example::

    python tools/dataset_converters/make_shapes.py --out data/shapes --num-train 400 --num-val 100 --seed 0
"""
import argparse
import json
import time

from mmext.datasets.shapes import generate_shapes


def main() -> None:
    parser = argparse.ArgumentParser(description='Generate the Shapes dataset')
    parser.add_argument('--out', default='data/shapes', help='output folder')
    parser.add_argument('--num-train', type=int, default=400)
    parser.add_argument('--num-val', type=int, default=100)
    parser.add_argument('--img-size', type=int, default=256)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--max-things', type=int, default=6)
    parser.add_argument('--splits', nargs='+', default=['train', 'val'], choices=['train', 'val', 'test'])
    args = parser.parse_args()
    start = time.time()
    meta = generate_shapes(args.out, num_train=args.num_train, num_val=args.num_val, img_size=args.img_size,
                           seed=args.seed, max_things=args.max_things, splits=args.splits)
    print(json.dumps(meta['counts'], indent=2))
    print(f'wrote {args.out} in {time.time() - start:.1f} s')


if __name__ == '__main__':
    main()
