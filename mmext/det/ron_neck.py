"""RON's reverse-connection pyramid.

Paper: Kong et al., "RON: Reverse Connection with Objectness Prior Networks for Object Detection", CVPR 2017,
arXiv:1707.01691 (layers ``rpn_conv7``, ``rpn_lrn{7,6,5,4}``, ``rpn_lrn*_d`` of the authors' prototxt).
"""
from typing import List, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmengine.model.weight_init import initialize

from ..registry import register

__all__ = ['RONNeck']


def _match_size(x: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """Crop or zero-pad (bottom/right) ``x`` to the spatial size of ``ref`` (odd input sizes)."""
    h, w = ref.shape[-2:]
    x = x[..., :h, :w]
    dh, dw = h - x.shape[-2], w - x.shape[-1]
    return F.pad(x, (0, dw, 0, dh)) if dh or dw else x


@register('MODELS', scopes=['mmdet'])
class RONNeck(BaseModule):
    """Reverse connections: a top-down pyramid of 4 levels (strides 8, 16, 32, 64 on RON's VGG-16).

    With inputs (conv4_3, conv5_3, fc6, fc7)::

        rf7 = relu(bn(conv2x2/s2(fc7)))                                  # stride 64
        rf_k = relu( relu(deconv2x2/s2(rf_{k+1})) + relu(bn(conv(c_k))) )  # k = 6, 5, 4 with c = fc6, conv5_3, conv4_3

    Deconvolutions are xavier-initialised, the lateral and top convolutions gaussian (std 0.01), as in the release
    (``init_weights`` re-applies ``init_cfg`` to ``top_conv``: mmengine runs the direct child ConvModule's own
    Kaiming ``init_weights()`` after ``init_cfg``).

    Args:
        in_channels (Sequence[int]): Channels of (conv4_3, conv5_3, fc6, fc7). Defaults to (512, 512, 1024, 1024)
            (reduced VGG-16; the full one has fc6/fc7 with 4096).
        out_channels (int): Channels of every pyramid level. Defaults to 512.
        lateral_kernel_sizes (int or Sequence[int]): Kernel of the lateral convs on conv4_3, conv5_3, fc6.
            Defaults to 3 (the full-VGG prototxt; REDUCED uses 1 on all three, ``VGG16-REDUCED/traincudnn.prototxt``).
        norm_cfg (dict, optional): Norm after the lateral and top convs. Defaults to BN.
        init_cfg (dict or list[dict], optional): Initialisation config. Defaults to normal(0.01) for convs and
            xavier for deconvs.

    Returns (forward):
        tuple[Tensor]: 4 maps, finest first (strides 8, 16, 32, 64), each with ``out_channels`` channels.
    """

    def __init__(self,
                 in_channels: Sequence[int] = (512, 512, 1024, 1024),
                 out_channels: int = 512,
                 lateral_kernel_sizes: Union[int, Sequence[int]] = 3,
                 norm_cfg: dict = dict(type='BN', requires_grad=True),
                 init_cfg=[
                     dict(type='Normal', layer='Conv2d', std=0.01),
                     dict(type='Xavier', layer='ConvTranspose2d', distribution='uniform'),
                 ]) -> None:
        super().__init__(init_cfg=init_cfg)
        in_channels = tuple(in_channels)
        if len(in_channels) != 4:
            raise ValueError(f'RONNeck: in_channels must give 4 values (conv4_3, conv5_3, fc6, fc7), '
                             f'got {in_channels}')
        if isinstance(lateral_kernel_sizes, int):
            lateral_kernel_sizes = (lateral_kernel_sizes, ) * 3
        lateral_kernel_sizes = tuple(lateral_kernel_sizes)
        if len(lateral_kernel_sizes) != 3 or any(k % 2 == 0 for k in lateral_kernel_sizes):
            raise ValueError(f'RONNeck: lateral_kernel_sizes must be an odd int or 3 odd ints, '
                             f'got {lateral_kernel_sizes}')
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.top_conv = ConvModule(in_channels[3], out_channels, 2, stride=2, norm_cfg=norm_cfg)
        self.lateral_convs = nn.ModuleList([
            ConvModule(c, out_channels, k, padding=k // 2, norm_cfg=norm_cfg)
            for c, k in zip(in_channels[:3], lateral_kernel_sizes)
        ])
        # deconvs[i] upsamples level i+1 onto level i
        self.deconvs = nn.ModuleList([nn.ConvTranspose2d(out_channels, out_channels, 2, stride=2) for _ in range(3)])

    def init_weights(self) -> None:
        """``init_cfg``, then again on ``top_conv`` (whose ConvModule ``init_weights()`` mmengine runs after it)."""
        super().init_weights()
        cfgs = self.init_cfg if isinstance(self.init_cfg, list) else [self.init_cfg] if self.init_cfg else []
        if cfgs and not any(c.get('type') == 'Pretrained' for c in cfgs):
            initialize(self.top_conv, [dict(c) for c in cfgs])

    def forward(self, inputs: Sequence[torch.Tensor]) -> Tuple[torch.Tensor, ...]:
        """Build the pyramid from (conv4_3, conv5_3, fc6, fc7)."""
        if len(inputs) != 4:
            raise ValueError(f'RONNeck: expected 4 inputs (conv4_3, conv5_3, fc6, fc7), got {len(inputs)}')
        for name, x, ch in zip(('conv4_3', 'conv5_3', 'fc6', 'fc7'), inputs, self.in_channels):
            if x.size(1) != ch:
                raise ValueError(f'RONNeck: in_channels gives {ch} channels for {name}, but the input has '
                                 f'{x.size(1)} (shape {tuple(x.shape)}); in_channels={self.in_channels}')
        outs: List[torch.Tensor] = [self.top_conv(inputs[3])]
        for i in (2, 1, 0):
            lateral = self.lateral_convs[i](inputs[i])
            top_down = _match_size(F.relu(self.deconvs[i](outs[0])), lateral)
            outs.insert(0, F.relu(top_down + lateral))
        return tuple(outs)
