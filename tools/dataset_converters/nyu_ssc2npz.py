"""Convert SSCNet's NYUv2 SSC files to mmext SSC scenes (``<out>/<split>/<name>.npz`` with ``tsdf`` + ``label``).

    python tools/dataset_converters/nyu_ssc2npz.py data/depthbin/NYUtrain data/nyu_ssc/train
    python tools/dataset_converters/nyu_ssc2npz.py data/depthbin/NYUtest data/nyu_ssc/test

Each ``NYU<id>_0000.png`` needs its ``NYU<id>_0000.bin`` next to it. The layout, the class map and the TSDF are the
ESSCNet release's data tools' (see mmext/datasets/shapes3d/nyu_ssc.py); tested on hand-made files in that layout,
not on the released files (none can be downloaded on the development machine).
"""
import argparse
import glob
import os
import os.path as osp

import numpy as np

from mmext.datasets.shapes3d.nyu_ssc import (NYU_GRID, SSC_CLASS_MAP, convert_nyu_scene, read_sscnet_bin,
                                            read_sscnet_depth)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('src', help='folder with NYU*_0000.png and NYU*_0000.bin')
    p.add_argument('out', help='output folder for .npz scenes')
    p.add_argument('--vox-margin', type=float, default=0.24, help='TSDF search margin in metres (the release: 0.24)')
    p.add_argument('--grid', type=int, nargs=3, default=list(NYU_GRID), metavar=('X', 'Y', 'Z'),
                   help='voxel grid of the .bin files (the release: 240 144 240)')
    p.add_argument('--raw-labels', action='store_true',
                   help="keep the .bin's raw label values instead of mapping SUNCG's 37 categories to 12 classes")
    args = p.parse_args(argv)
    pngs = sorted(glob.glob(osp.join(args.src, '*.png')))
    if not pngs:
        raise FileNotFoundError(f'no depth .png files under {args.src}')
    os.makedirs(args.out, exist_ok=True)
    for png in pngs:
        binf = png[:-4] + '.bin'
        if not osp.exists(binf):
            raise FileNotFoundError(f'{binf} is missing (the labels of {png})')
        labels = read_sscnet_bin(binf, tuple(args.grid), None if args.raw_labels else SSC_CLASS_MAP)
        scene = convert_nyu_scene(read_sscnet_depth(png), labels, vox_margin=args.vox_margin)
        np.savez_compressed(osp.join(args.out, osp.basename(png)[:-4] + '.npz'), **scene)
    print(f'wrote {len(pngs)} scenes to {args.out}')


if __name__ == '__main__':
    main()
