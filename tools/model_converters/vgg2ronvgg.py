"""Convert a VGG-16 checkpoint to RON's backbone (``RONVGG``) keys.

Accepts mmdet SSD's reduced VGG-16 (``open-mmlab://vgg16_caffe`` or an SSD300 detector checkpoint) for
``--fc-type reduced``, and torchvision's ``vgg16`` for ``--fc-type full`` (its fc6/fc7 become 7x7 / 1x1 convs);
``--fc-type none`` keeps conv1_1 ... conv5_3 only (HyperNet's backbone, ``RONVGG(fc_type=None)``).
Loading is ``weights_only`` (:func:`mmext.utils.safe_load`). Example::

    python tools/model_converters/vgg2ronvgg.py vgg16-397923af.pth checkpoints/ronvgg16_full_from_torchvision.pth \
        --fc-type full
"""
import argparse
import os
import os.path as osp

import torch

from mmext.backbones import convert_vgg_to_ronvgg
from mmext.utils import safe_load


def main() -> None:
    parser = argparse.ArgumentParser(description='Convert VGG-16 weights to RONVGG keys')
    parser.add_argument('src', help='source checkpoint (.pth)')
    parser.add_argument('dst', help='output checkpoint (.pth), loadable with init_cfg=Pretrained')
    parser.add_argument('--fc-type', choices=['reduced', 'full', 'none'], default='reduced')
    args = parser.parse_args()
    fc_type = None if args.fc_type == 'none' else args.fc_type
    state = convert_vgg_to_ronvgg(safe_load(args.src, map_location='cpu'), fc_type=fc_type)
    if osp.dirname(args.dst):
        os.makedirs(osp.dirname(args.dst), exist_ok=True)
    torch.save(dict(state_dict=state), args.dst)
    print(f'wrote {len(state)} tensors to {args.dst}')


if __name__ == '__main__':
    main()
