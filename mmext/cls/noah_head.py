"""NOAH classification head for mmpretrain.

"NOAH: Learning Pairwise Object Category Attentions for Image Classification" (Chao Li, Aojun Zhou, Anbang Yao;
arXiv preprint 2024, arXiv:2402.02377; code and checkpoints: https://github.com/OSVAI/NOAH).
See :mod:`mmext.cls.noah_mixin` for the computation.
"""
from typing import Optional

from mmpretrain.models.heads import ClsHead

from mmext.registry import register
from .noah_mixin import NOAH_INIT_CFG, NOAHMixin

__all__ = ['NOAHHead']


@register('MODELS', scopes=['mmpretrain'])
class NOAHHead(NOAHMixin, ClsHead):
    """Non-glObal Attentive Head: pairwise object-category attentions instead of GAP + FC.

    Takes the last **unpooled** backbone output (use ``neck=None``): a CNN feature map (B, C, H, W), or the patch
    tokens of mmpretrain's ViT/DeiT (``out_type='featmap'``, or ``out_type='raw'`` with the class token dropped
    via ``num_extra_tokens``). The channels are split into ``C_k = int(C * key_ratio)`` key and ``C - C_k`` value
    channels, each transformed by a 1x1 convolution with ``head_num`` groups into ``head_num * num_classes``
    maps; keys get a softmax over the spatial positions, values get dropout, and the product summed over
    positions and heads gives the logits. Parameters: ``C * K + 2 * N * K`` (an FC has ``C * K + K``).

    Paper settings: ResNet-18 ``head_num=4, key_ratio=1/2``; ResNet-50/101/152 ``head_num=4, key_ratio=1/8``,
    both ``dropout=0.1``; MobileNetV2 ``head_num=8, key_ratio=1/4, dropout=0.2``; DeiT ``head_num=4,
    key_ratio=1/2, dropout=0.1`` without a class token.

    Args:
        num_classes (int): Number of classes K.
        in_channels (int): Channels C of the input feature map.
        head_num (int): Number of heads N (groups of the 1x1 convolutions). Defaults to 4.
        key_ratio (float): Fraction of the channels used as keys. Defaults to 0.5.
        dropout (float): Dropout probability on the value maps. Defaults to 0.1.
        head_split (bool): Group the 1x1 convolutions by head (False: dense convolutions, N heads still formed).
            Defaults to True.
        kv_split (bool): Split the channels into keys and values (False: both see all channels). Defaults to
            True.
        num_extra_tokens (int): Leading tokens dropped from a (B, L, C) token input (1 for the class token of
            mmpretrain's ViT, 2 for a distilled DeiT, 0 without a class token). Unused for (B, C, H, W) inputs.
            Defaults to 1.
        init_cfg (dict, optional): Defaults to Kaiming normal (fan_out) on the convolutions, zero bias.
        **kwargs: ``loss``, ``topk``, ``cal_acc`` of :class:`mmpretrain.models.heads.ClsHead`.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 head_num: int = 4,
                 key_ratio: float = 0.5,
                 dropout: float = 0.1,
                 head_split: bool = True,
                 kv_split: bool = True,
                 num_extra_tokens: int = 1,
                 init_cfg: Optional[dict] = NOAH_INIT_CFG,
                 **kwargs) -> None:
        super().__init__(init_cfg=init_cfg, **kwargs)
        self._init_noah(num_classes, in_channels, head_num, key_ratio, dropout, head_split, kv_split,
                        num_extra_tokens)
