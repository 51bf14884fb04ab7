"""RON's VGG-16 backbone (pool5 2x2/s2, full or reduced fc6/fc7) and a VGG state-dict converter.

Paper: Kong et al., "RON: Reverse Connection with Objectness Prior Networks for Object Detection", CVPR 2017,
arXiv:1707.01691. Layer shapes follow the authors' ``models/pascalvoc/VGG16{,-REDUCED}`` prototxts.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule

from ..registry import register
from .frozen_stages import FrozenStagesMixin

__all__ = ['RONVGG', 'convert_vgg_to_ronvgg']

#: (number of 3x3 convs, base width) of the five VGG-16 conv stages
_VGG16_STAGES: Tuple[Tuple[int, int], ...] = ((2, 64), (2, 128), (3, 256), (3, 512), (3, 512))
#: fc_type -> (fc6 kernel, fc6 padding, fc6 dilation, fc width)
_FC_TYPES: Dict[str, Tuple[int, int, int, int]] = {
    'full': (7, 3, 1, 4096),
    'reduced': (3, 3, 3, 1024),
}
#: names of the outputs that ``out_indices`` select from
OUT_NAMES: Tuple[str, ...] = ('conv4_3', 'conv5_3', 'fc6', 'fc7')
#: every output ``out_names`` may select (the last ReLU of each stage), at strides 1, 2, 4, 8, 16, 32, 32
ALL_OUT_NAMES: Tuple[str, ...] = ('conv1_2', 'conv2_2', 'conv3_3', 'conv4_3', 'conv5_3', 'fc6', 'fc7')


@register('MODELS')
class RONVGG(FrozenStagesMixin, BaseModule):
    """VGG-16 as used by RON: conv1_1 ... conv5_3, pool5 2x2/s2, fc6 and fc7 as convolutions.

    Unlike SSD's VGG (pool5 3x3/s1, fc7 at stride 16), pool5 halves the map, so conv4_3, conv5_3, fc6 and fc7
    lie at strides 8, 16, 32 and 32. ``fc_type='full'`` is the converted classifier (fc6 7x7 conv with 4096
    channels, pad 3; fc7 1x1, 4096); ``'reduced'`` is SSD's sub-sampled fc6/fc7 (fc6 3x3, dilation 3, pad 3,
    1024 channels; fc7 1x1, 1024).

    The layers sit in ``self.features`` at the indices of torchvision's / mmcv's VGG-16 and mmdet's ``SSDVGG``
    (convs at 0, 2, 5, ..., 28, pool5 at 30, fc6 at 31, fc7 at 33), so the reduced weights mmdet's SSD loads
    (``open-mmlab://vgg16_caffe``, keys ``features.N.*``) load unchanged; :func:`convert_vgg_to_ronvgg` handles
    SSD detector checkpoints and torchvision's ``vgg16`` (whose fc layers it reshapes into the full variant).

    ``fc_type=None`` builds conv1_1 ... conv5_3 only (no pool5 / fc6 / fc7), and ``out_names`` selects any stage
    output by name, e.g. HyperNet's ``('conv1_2', 'conv3_3', 'conv5_3')`` at strides 1, 4 and 16.

    Args:
        fc_type (str, optional): ``'reduced'``, ``'full'`` or ``None`` (no pool5 / fc6 / fc7). Defaults to
            ``'reduced'``.
        widen_factor (float): Multiplier of every width (1.0 is VGG-16; smaller values give the light
            variants used on a CPU). Defaults to 1.0.
        out_indices (Sequence[int]): Which of (conv4_3, conv5_3, fc6, fc7) to return. Defaults to
            (0, 1, 2, 3), what :class:`~mmext.det.RONNeck` consumes. Ignored when ``out_names`` is given.
        out_names (Sequence[str], optional): Outputs by name, a subset of ``ALL_OUT_NAMES`` (conv1_2, conv2_2,
            conv3_3, conv4_3, conv5_3, fc6, fc7) in increasing depth. Defaults to None (use ``out_indices``).
        frozen_stages (int): Freeze conv stages 1..``frozen_stages`` (-1: none; 5 freezes conv1-conv5, 6 also
            fc6, 7 also fc7; at most 5 with ``fc_type=None``). Defaults to -1.
        norm_cfg (dict, optional): Norm layer after every conv (changes the ``features`` indices like
            torchvision's ``vgg16_bn``); ``None`` is RON's plain VGG. Defaults to None.
        norm_eval (bool): Keep norm layers in eval mode while training. Defaults to False.
        ceil_mode (bool): Caffe-style ceil rounding of the max-pools. Defaults to True.
        init_cfg (dict or list[dict], optional): Initialisation config, e.g.
            ``dict(type='Pretrained', checkpoint='open-mmlab://vgg16_caffe')``. Defaults to Kaiming for convs.
    """

    def __init__(self,
                 fc_type: Optional[str] = 'reduced',
                 widen_factor: float = 1.0,
                 out_indices: Sequence[int] = (0, 1, 2, 3),
                 out_names: Optional[Sequence[str]] = None,
                 frozen_stages: int = -1,
                 norm_cfg: Optional[dict] = None,
                 norm_eval: bool = False,
                 ceil_mode: bool = True,
                 init_cfg=dict(type='Kaiming', layer='Conv2d', nonlinearity='relu')) -> None:
        super().__init__(init_cfg=init_cfg)
        if fc_type is not None and fc_type not in _FC_TYPES:
            raise ValueError(f'RONVGG: fc_type must be one of {sorted(_FC_TYPES)} or None, got {fc_type!r}')
        if not widen_factor > 0:
            raise ValueError(f'RONVGG: widen_factor must be > 0, got {widen_factor}')
        available = ALL_OUT_NAMES if fc_type is not None else ALL_OUT_NAMES[:5]
        if out_names is None:
            out_indices = tuple(out_indices)
            valid = range(len(OUT_NAMES) if fc_type is not None else 2)
            if not out_indices or any(i not in valid for i in out_indices):
                raise ValueError(f'RONVGG: out_indices must be a non-empty subset of 0..{len(valid) - 1} '
                                 f'({", ".join(OUT_NAMES[:len(valid)])}) with fc_type={fc_type!r}, '
                                 f'got {out_indices}')
            selected = tuple(OUT_NAMES[i] for i in out_indices)
        else:
            selected = tuple(out_names)
            if (not selected or any(n not in available for n in selected)
                    or list(selected) != sorted(set(selected), key=available.index)):
                raise ValueError(f'RONVGG: out_names must be distinct names from {available} in that order '
                                 f'(fc_type={fc_type!r}), got {selected}')
            out_indices = tuple(OUT_NAMES.index(n) if n in OUT_NAMES else -1 for n in selected)
        max_frozen = 7 if fc_type is not None else 5
        if frozen_stages not in range(-1, max_frozen + 1):
            raise ValueError(f'RONVGG: frozen_stages must be in -1..{max_frozen} with fc_type={fc_type!r}, '
                             f'got {frozen_stages}')
        self.fc_type = fc_type
        self.out_indices = out_indices
        self.out_names = selected
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval

        layers: List[nn.Module] = []
        # index of the last module (the ReLU) of each of the 7 stages conv1..conv5, fc6, fc7
        self._stage_ends: List[int] = []
        in_ch = 3
        stage_widths = []
        for num_convs, width in _VGG16_STAGES:
            out_ch = max(1, int(round(width * widen_factor)))
            for _ in range(num_convs):
                in_ch = self._conv(layers, in_ch, out_ch, 3, 1, 1, norm_cfg)
            self._stage_ends.append(len(layers) - 1)
            layers.append(nn.MaxPool2d(2, 2, ceil_mode=ceil_mode))
            stage_widths.append(out_ch)
        if fc_type is not None:
            # pool1-pool4 (2x2/s2) stay; the pool after conv5 is RON's pool5 (2x2/s2)
            k6, p6, d6, fc_width = _FC_TYPES[fc_type]
            fc_ch = max(1, int(round(fc_width * widen_factor)))
            in_ch = self._conv(layers, in_ch, fc_ch, k6, p6, d6, norm_cfg)
            self._stage_ends.append(len(layers) - 1)
            self._conv(layers, fc_ch, fc_ch, 1, 0, 1, norm_cfg)
            self._stage_ends.append(len(layers) - 1)
            stage_widths += [fc_ch, fc_ch]
        else:
            layers.pop()  # no pool5 without fc6
        self.features = nn.Sequential(*layers)
        #: channels of each returned feature, in ``out_indices`` / ``out_names`` order
        self.out_channels: Tuple[int, ...] = tuple(stage_widths[ALL_OUT_NAMES.index(n)] for n in selected)
        # feature index (into self.features) of conv4_3, conv5_3, fc6, fc7 after their ReLU
        self._out_feature_ids = tuple(self._stage_ends[s] for s in (3, 4, 5, 6) if s < len(self._stage_ends))
        # feature index of each selected output, in output order
        self._selected_ids = tuple(self._stage_ends[ALL_OUT_NAMES.index(n)] for n in selected)
        self._freeze_stages()

    @staticmethod
    def _conv(layers: List[nn.Module], in_ch: int, out_ch: int, kernel: int, padding: int, dilation: int,
              norm_cfg: Optional[dict]) -> int:
        layers.append(nn.Conv2d(in_ch, out_ch, kernel, padding=padding, dilation=dilation, bias=norm_cfg is None))
        if norm_cfg is not None:
            layers.append(build_norm_layer(norm_cfg, out_ch)[1])
        layers.append(nn.ReLU(inplace=True))
        return out_ch

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Return the selected features (conv4_3, conv5_3, fc6, fc7 lie at strides 8, 16, 32, 32)."""
        wanted = set(self._selected_ids)
        outs = {}
        last = max(wanted)
        for idx, layer in enumerate(self.features):
            x = layer(x)
            if idx in wanted:
                outs[idx] = x
            if idx == last:
                break
        return tuple(outs[i] for i in self._selected_ids)

    def frozen_modules(self) -> List[nn.Module]:
        if self.frozen_stages < 1:
            return []
        return list(self.features)[:self._stage_ends[self.frozen_stages - 1] + 1]


def convert_vgg_to_ronvgg(state_dict: Dict[str, torch.Tensor],
                          fc_type: Optional[str] = 'reduced') -> Dict[str, torch.Tensor]:
    """Map a VGG-16 state dict onto :class:`RONVGG` (``norm_cfg=None``) keys.

    Accepted layouts:

    * mmdet's SSD (``SSDVGG``): bare ``features.N.*`` (``open-mmlab://vgg16_caffe``) or a detector checkpoint's
      ``backbone.features.N.*``; the neck and head keys are dropped. Same indices as RONVGG (reduced fc).
    * torchvision ``vgg16``: ``features.N.*`` plus ``classifier.0`` / ``classifier.3`` (fc6 / fc7 linear
      layers), reshaped into the 7x7 and 1x1 convolutions of ``fc_type='full'``; ``classifier.6`` is dropped.

    Args:
        state_dict (dict): The source state dict (a ``'state_dict'`` wrapper is unwrapped).
        fc_type (str, optional): The target variant, ``'reduced'``, ``'full'`` or ``None`` (conv1_1 ... conv5_3
            only: every fc key is dropped). Defaults to ``'reduced'``.

    Returns:
        dict: ``features.N.weight`` / ``features.N.bias`` tensors for RONVGG.

    Raises:
        ValueError: if ``fc_type`` is unknown, or the fc6 weights do not fit the requested variant.
    """
    if fc_type is not None and fc_type not in _FC_TYPES:
        raise ValueError(f'convert_vgg_to_ronvgg: fc_type must be one of {sorted(_FC_TYPES)} or None, '
                         f'got {fc_type!r}')
    if 'state_dict' in state_dict and isinstance(state_dict['state_dict'], dict):
        state_dict = state_dict['state_dict']
    k6, _, _, fc_width = _FC_TYPES[fc_type or 'full']
    last_index = 33 if fc_type is not None else 29  # fc7 / conv5_3's ReLU
    out: Dict[str, torch.Tensor] = {}
    for key, value in state_dict.items():
        for prefix in ('module.', 'backbone.'):
            if key.startswith(prefix):
                key = key[len(prefix):]
        if key.startswith('features.'):
            if int(key.split('.')[1]) <= last_index:
                out[key] = value
        elif fc_type is None:
            continue
        elif key.startswith('classifier.0.'):  # torchvision fc6: Linear(512*7*7, 4096)
            out['features.31.' + key.rsplit('.', 1)[1]] = (value.reshape(value.shape[0], -1, 7, 7)
                                                           if value.dim() == 2 else value)
        elif key.startswith('classifier.3.'):  # torchvision fc7: Linear(4096, 4096)
            out['features.33.' + key.rsplit('.', 1)[1]] = (value.reshape(value.shape[0], -1, 1, 1)
                                                           if value.dim() == 2 else value)
    fc6 = out.get('features.31.weight')
    if fc6 is not None and tuple(fc6.shape[:1] + fc6.shape[2:]) != (fc_width, k6, k6):
        raise ValueError(f'convert_vgg_to_ronvgg: fc6 weight has shape {tuple(fc6.shape)}, which does not fit '
                         f'fc_type={fc_type!r} (expected ({fc_width}, 512, {k6}, {k6}))')
    return out
