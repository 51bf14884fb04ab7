"""Convert SSCNet's NYUv2 SSC files to mmext SSC scenes (``<out>/<split>/<name>.npz`` with ``tsdf`` + ``label``).

    python tools/dataset_converters/nyu_ssc2npz.py data/depthbin/NYUtrain data/nyu_ssc/train
    python tools/dataset_converters/nyu_ssc2npz.py data/depthbin/NYUtest data/nyu_ssc/test

Each ``NYU<id>_0000.png`` needs its ``NYU<id>_0000.bin`` next to it. See mmext/datasets/shapes3d/nyu_ssc.py for
the file layout it assumes (not verified against the released files on this machine).
"""
import argparse
import glob
import os
import os.path as osp

import numpy as np

from mmext.datasets.shapes3d.nyu_ssc import convert_nyu_scene, read_sscnet_bin, read_sscnet_depth


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('src', help='folder with NYU*_0000.png and NYU*_0000.bin')
    p.add_argument('out', help='output folder for .npz scenes')
    p.add_argument('--trunc-voxels', type=float, default=12.0, help='TSDF truncation in voxels (0.02 m each)')
    args = p.parse_args()
    pngs = sorted(glob.glob(osp.join(args.src, '*.png')))
    if not pngs:
        raise FileNotFoundError(f'no depth .png files under {args.src}')
    os.makedirs(args.out, exist_ok=True)
    for png in pngs:
        binf = png[:-4] + '.bin'
        if not osp.exists(binf):
            raise FileNotFoundError(f'{binf} is missing (the labels of {png})')
        scene = convert_nyu_scene(read_sscnet_depth(png), read_sscnet_bin(binf), trunc_voxels=args.trunc_voxels)
        np.savez_compressed(osp.join(args.out, osp.basename(png)[:-4] + '.npz'), **scene)
    print(f'wrote {len(pngs)} scenes to {args.out}')


if __name__ == '__main__':
    main()
