"""HyperNet's detection module head: 3x3 conv (63) -> FC 4096 -> FC 4096, with dropout after each FC.

Paper: Kong et al., "HyperNet: Towards Accurate Region Proposal Generation and Joint Object Detection", CVPR 2016,
arXiv:1604.00600, Sec. 3.3.
"""
import torch
import torch.nn.functional as F
from mmdet.models.roi_heads.bbox_heads import ConvFCBBoxHead

from ...registry import register
from ...utils.input_checks import check_in_channels

__all__ = ['HyperNetBBoxHead']


@register('MODELS', scopes=['mmdet'])
class HyperNetBBoxHead(ConvFCBBoxHead):
    """mmdet's :class:`ConvFCBBoxHead` plus dropout after every shared FC (Fast R-CNN's fc6 / fc7 dropout).

    Defaults are the paper's detection module on a 13x13 RoI of the 126-channel Hyper Feature: one shared 3x3
    conv with 63 channels, two shared FCs of 4096, class scores and class-specific box deltas. Dropout is applied
    to the output of each shared FC (after its ReLU; the two commute) through a forward hook, so the parameter
    names stay those of ``ConvFCBBoxHead``.

    Args:
        dropout_ratio (float): Dropout probability after each shared FC. Defaults to 0.5.
        **kwargs: :class:`ConvFCBBoxHead` arguments.
    """

    def __init__(self,
                 num_shared_convs: int = 1,
                 num_shared_fcs: int = 2,
                 conv_out_channels: int = 63,
                 fc_out_channels: int = 4096,
                 roi_feat_size: int = 13,
                 in_channels: int = 126,
                 dropout_ratio: float = 0.5,
                 **kwargs) -> None:
        super().__init__(num_shared_convs=num_shared_convs, num_shared_fcs=num_shared_fcs,
                         conv_out_channels=conv_out_channels, fc_out_channels=fc_out_channels,
                         roi_feat_size=roi_feat_size, in_channels=in_channels, **kwargs)
        if not 0 <= dropout_ratio < 1:
            raise ValueError(f'HyperNetBBoxHead: dropout_ratio must be in [0, 1), got {dropout_ratio}')
        self.dropout_ratio = dropout_ratio
        if dropout_ratio > 0:
            for fc in self.shared_fcs:
                fc.register_forward_hook(self._dropout_hook)

    def forward(self, x: torch.Tensor) -> tuple:
        """Class scores and box deltas of RoI features ``[N, in_channels, s, s]`` (channels checked once)."""
        check_in_channels(self, x, self.in_channels)
        return super().forward(x)

    def _dropout_hook(self, module, inputs, output: torch.Tensor) -> torch.Tensor:
        return F.dropout(output, self.dropout_ratio, self.training)
