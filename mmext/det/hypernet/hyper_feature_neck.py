"""HyperNet's Hyper Feature: fine, middle and coarse maps resampled to one stride, convolved, LRN'd, concatenated.

Paper: Kong, Yao, Chen, Sun, "HyperNet: Towards Accurate Region Proposal Generation and Joint Object Detection",
CVPR 2016, arXiv:1604.00600, Sec. 3.1 and Fig. 2.
"""
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from ...registry import register

__all__ = ['HyperFeatureNeck']


@register('MODELS', scopes=['mmdet'])
class HyperFeatureNeck(BaseModule):
    """Hyper Feature: one single-scale map at ``out_stride`` from several backbone levels.

    For VGG-16 the inputs are conv1_2, conv3_3 and conv5_3 (strides 1, 4, 16). Each input is resampled to
    ``out_stride``: a finer one by max pooling (kernel = stride = the ratio), a coarser one by a deconvolution
    (``nn.ConvTranspose2d``, kernel = stride = the ratio, channels kept), one already at ``out_stride`` is kept.
    A conv (3x3, ReLU) maps each to ``branch_channels`` (42 each in the paper's Caffe model: 126 channels in
    all), Local Response Normalisation normalises each, and the maps are concatenated (paper order: resample,
    conv, LRN, concat).

    Choices the paper leaves open (config options here): the pooling kernel (= the ratio, non-overlapping), the
    deconvolution (learned, kernel = stride = the ratio, default init, ``'bilinear'`` interpolation as the
    alternative), the branch conv's 3x3 kernel with a ReLU, and Caffe's default LRN (5 channels, alpha 1e-4, beta
    0.75, k 1). A deconvolved map larger than the others (inputs not divisible by the coarse stride) is cropped
    at the bottom/right to the common size.

    Args:
        in_channels (Sequence[int]): Channels of the inputs, fine to coarse. Defaults to (64, 256, 512).
        in_strides (Sequence[int]): Strides of the inputs. Defaults to (1, 4, 16).
        out_stride (int): Stride of the Hyper Feature. Defaults to 4.
        branch_channels (int or Sequence[int]): Output channels of each branch conv. Defaults to 42.
        kernel_size (int): Kernel of the branch convs. Defaults to 3.
        upsample (str): ``'deconv'`` (learned) or ``'bilinear'``. Defaults to ``'deconv'``.
        lrn_cfg (dict, optional): ``nn.LocalResponseNorm`` arguments; ``None`` skips the normalisation.
            Defaults to ``dict(size=5, alpha=1e-4, beta=0.75, k=1.0)``.
        init_cfg (dict or list[dict], optional): Initialisation config. Defaults to Xavier for the convs.
    """

    def __init__(self,
                 in_channels: Sequence[int] = (64, 256, 512),
                 in_strides: Sequence[int] = (1, 4, 16),
                 out_stride: int = 4,
                 branch_channels: Union[int, Sequence[int]] = 42,
                 kernel_size: int = 3,
                 upsample: str = 'deconv',
                 lrn_cfg: Optional[dict] = dict(size=5, alpha=1e-4, beta=0.75, k=1.0),
                 init_cfg=dict(type='Xavier', layer=['Conv2d', 'ConvTranspose2d'], distribution='uniform')) -> None:
        super().__init__(init_cfg=init_cfg)
        in_channels, in_strides = tuple(in_channels), tuple(in_strides)
        if len(in_channels) != len(in_strides) or not in_channels:
            raise ValueError(f'HyperFeatureNeck: in_channels {in_channels} and in_strides {in_strides} must be '
                             'non-empty and of the same length')
        if isinstance(branch_channels, int):
            branch_channels = (branch_channels, ) * len(in_channels)
        branch_channels = tuple(branch_channels)
        if len(branch_channels) != len(in_channels):
            raise ValueError(f'HyperFeatureNeck: branch_channels {branch_channels} needs one entry per input '
                             f'({len(in_channels)})')
        for s in in_strides:
            if max(s, out_stride) % min(s, out_stride):
                raise ValueError(f'HyperFeatureNeck: every in_stride must divide or be a multiple of out_stride='
                                 f'{out_stride}, got {in_strides}')
        if upsample not in ('deconv', 'bilinear'):
            raise ValueError(f"HyperFeatureNeck: upsample must be 'deconv' or 'bilinear', got {upsample!r}")
        self.in_channels = in_channels
        self.in_strides = in_strides
        self.out_stride = out_stride
        self.branch_channels = branch_channels
        #: channels of the single output map (126 for the paper's 3 x 42)
        self.out_channels = sum(branch_channels)

        self.resamples = nn.ModuleList()
        self.convs = nn.ModuleList()
        for ch, stride, out_ch in zip(in_channels, in_strides, branch_channels):
            if stride < out_stride:
                ratio = out_stride // stride
                resample: nn.Module = nn.MaxPool2d(ratio, ratio, ceil_mode=True)
            elif stride > out_stride:
                ratio = stride // out_stride
                resample = (nn.ConvTranspose2d(ch, ch, ratio, stride=ratio) if upsample == 'deconv' else
                            nn.Upsample(scale_factor=ratio, mode='bilinear', align_corners=False))
            else:
                resample = nn.Identity()
            self.resamples.append(resample)
            self.convs.append(nn.Sequential(nn.Conv2d(ch, out_ch, kernel_size, padding=kernel_size // 2),
                                            nn.ReLU(inplace=True)))
        self.lrn = nn.LocalResponseNorm(**lrn_cfg) if lrn_cfg is not None else nn.Identity()

    def forward(self, inputs: Sequence[torch.Tensor]) -> Tuple[torch.Tensor]:
        """Return ``(hyper_feature, )``: one map of ``out_channels`` channels at ``out_stride``."""
        if len(inputs) != len(self.in_channels):
            raise ValueError(f'HyperFeatureNeck: expected {len(self.in_channels)} inputs, got {len(inputs)}')
        maps: List[torch.Tensor] = []
        for i, (x, resample) in enumerate(zip(inputs, self.resamples)):
            if x.shape[1] != self.in_channels[i]:
                raise ValueError(f'HyperFeatureNeck: input {i} has {x.shape[1]} channels but in_channels[{i}]='
                                 f'{self.in_channels[i]}')
            maps.append(resample(x))
        h = min(m.shape[2] for m in maps)
        w = min(m.shape[3] for m in maps)
        outs = [self.lrn(conv(m[:, :, :h, :w])) for m, conv in zip(maps, self.convs)]
        return (torch.cat(outs, dim=1), )
