"""Multi-label NOAH head for mmpretrain's multi-label datasets (VOC, ``MultiLabelDataset``) and metrics.

"NOAH: Learning Pairwise Object Category Attentions for Image Classification" (Chao Li, Aojun Zhou, Anbang Yao;
arXiv preprint 2024, arXiv:2402.02377; the paper also reports MS-COCO multi-label recognition).
See :mod:`mmext.cls.noah_mixin` for the computation.
"""
from typing import Optional

from mmpretrain.models.heads import MultiLabelClsHead

from mmext.registry import register
from .noah_mixin import NOAH_INIT_CFG, NOAHMixin

__all__ = ['NOAHMultiLabelClsHead']


@register('MODELS', scopes=['mmpretrain'])
class NOAHMultiLabelClsHead(NOAHMixin, MultiLabelClsHead):
    """NOAH head with sigmoid multi-label loss and predictions (like ``MultiLabelLinearClsHead``).

    Same layers and arguments as :class:`mmext.cls.NOAHHead`; loss and prediction follow
    :class:`mmpretrain.models.heads.MultiLabelClsHead` (sigmoid scores, positives by ``thr`` or ``topk``).

    Args:
        num_classes (int): Number of classes K.
        in_channels (int): Channels C of the unpooled input feature map.
        head_num (int): Number of heads N. Defaults to 4.
        key_ratio (float): Fraction of the channels used as keys. Defaults to 0.5.
        dropout (float): Dropout probability on the value maps. Defaults to 0.1.
        head_split (bool): Group the 1x1 convolutions by head. Defaults to True.
        kv_split (bool): Split the channels into keys and values. Defaults to True.
        num_extra_tokens (int): Leading tokens dropped from a (B, L, C) token input. Defaults to 1.
        init_cfg (dict, optional): Defaults to Kaiming normal (fan_out) on the convolutions, zero bias.
        **kwargs: ``loss`` (default ``CrossEntropyLoss`` with ``use_sigmoid=True``), ``thr``, ``topk`` of
            :class:`mmpretrain.models.heads.MultiLabelClsHead`.
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
