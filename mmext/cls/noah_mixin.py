"""The NOAH computation shared by the single-label and the multi-label NOAH heads.

NOAH (Non-glObal Attentive Head) replaces global average pooling + a fully connected classifier by pairwise
object-category attentions: "NOAH: Learning Pairwise Object Category Attentions for Image Classification"
(Chao Li, Aojun Zhou, Anbang Yao; arXiv preprint 2024, arXiv:2402.02377; code: https://github.com/OSVAI/NOAH).

Given a feature map ``x`` of shape (B, C, H, W) (or L = H*W transformer patch tokens):

1. split level 1 (key/value): ``C_k = int(C * key_ratio)`` key channels and ``C_v = C - C_k`` value channels;
2. split level 2 (heads): both parts are cut into ``head_num`` = N groups;
3. transform: grouped 1x1 convolutions map the keys and the values to N x K maps (K classes each);
4. merge: a spatial softmax over the L positions of every key map gives the attentions, dropout is applied to
   the value maps, and ``logits[b, k] = sum_{n, l} softmax_l(key)[b, n, k, l] * value[b, n, k, l]``.

The layers are named ``query`` and ``value`` as in the authors' code, so their checkpoints' ``head.*`` keys load
unchanged (see ``tools/model_converters/noah2mmext.py``).
"""
from typing import Sequence, Tuple, Union

import torch
import torch.nn as nn

__all__ = ['NOAHMixin', 'NOAH_INIT_CFG']

#: Default initialisation of the two grouped 1x1 convolutions: Kaiming normal (fan_out), zero bias, as the paper.
NOAH_INIT_CFG = dict(type='Kaiming', layer='Conv2d', mode='fan_out', nonlinearity='relu', distribution='normal',
                     bias=0.)


class NOAHMixin:
    """Builds and runs NOAH's layers; mixed into an mmpretrain head (``ClsHead`` or ``MultiLabelClsHead``).

    The head class calls :meth:`_init_noah` in its ``__init__`` after the mmpretrain base ``__init__``; the
    mixin then provides ``pre_logits`` and ``forward``.
    """

    def _init_noah(self, num_classes: int, in_channels: int, head_num: int, key_ratio: float, dropout: float,
                   head_split: bool, kv_split: bool, num_extra_tokens: int) -> None:
        cls_name = type(self).__name__
        if not isinstance(num_classes, int) or num_classes <= 0:
            raise ValueError(f'{cls_name}: num_classes must be a positive int, got {num_classes!r}')
        if not isinstance(in_channels, int) or in_channels <= 0:
            raise ValueError(f'{cls_name}: in_channels must be a positive int, got {in_channels!r}')
        if not isinstance(head_num, int) or head_num <= 0:
            raise ValueError(f'{cls_name}: head_num must be a positive int, got {head_num!r}')
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f'{cls_name}: dropout must be in [0, 1), got {dropout!r}')
        if not isinstance(num_extra_tokens, int) or num_extra_tokens < 0:
            raise ValueError(f'{cls_name}: num_extra_tokens must be an int >= 0, got {num_extra_tokens!r}')
        if kv_split:
            if not 0.0 < key_ratio < 1.0:
                raise ValueError(f'{cls_name}: key_ratio must be in (0, 1) when kv_split=True, got {key_ratio!r}')
            key_channels = int(in_channels * key_ratio)
            value_channels = in_channels - key_channels
        else:
            key_channels = value_channels = in_channels
        groups = head_num if head_split else 1
        for what, channels in (('key', key_channels), ('value', value_channels)):
            if channels == 0 or channels % groups:
                raise ValueError(
                    f'{cls_name}: the {what} channels ({channels} = in_channels {in_channels} split by key_ratio '
                    f'{key_ratio}) must be a positive multiple of head_num ({head_num}) when head_split=True; '
                    f'choose in_channels, key_ratio and head_num accordingly')

        self.num_classes = num_classes
        self.in_channels = in_channels
        self.head_num = head_num
        self.key_ratio = key_ratio
        self.head_split = head_split
        self.kv_split = kv_split
        self.num_extra_tokens = num_extra_tokens
        self.key_channels = key_channels
        self.value_channels = value_channels
        self.query = nn.Conv2d(key_channels, head_num * num_classes, kernel_size=1, groups=groups, bias=True)
        self.value = nn.Conv2d(value_channels, head_num * num_classes, kernel_size=1, groups=groups, bias=True)
        self.dropout = nn.Dropout(p=dropout)

    def pre_logits(self, feats: Union[Tuple[torch.Tensor, ...], Sequence[torch.Tensor]]) -> torch.Tensor:
        """Take the last backbone output and bring it to a (B, C, H, W) map (tokens become (B, C, L, 1)).

        Accepted: a CNN feature map (B, C, H, W); mmpretrain ViT/DeiT ``out_type='featmap'`` (patch tokens as
        (B, C, H, W)); ``out_type='raw'`` tokens (B, L, C), of which the first ``num_extra_tokens`` (class /
        distillation tokens) are dropped.
        """
        x = feats[-1] if isinstance(feats, (tuple, list)) else feats
        name = type(self).__name__
        if isinstance(x, (tuple, list)):
            raise TypeError(f'{name} needs a tensor as the last backbone output, got a {type(x).__name__} (for '
                            "mmpretrain's VisionTransformer use out_type='featmap' or 'raw', not 'cls_token')")
        if x.dim() == 3:
            if x.size(1) <= self.num_extra_tokens:
                raise ValueError(f'{name}: got {x.size(1)} tokens, but num_extra_tokens={self.num_extra_tokens} '
                                 'of them are class/distillation tokens; no patch tokens are left')
            x = x[:, self.num_extra_tokens:].transpose(1, 2).unsqueeze(-1)
        elif x.dim() != 4:
            raise ValueError(
                f'{name} needs an unpooled feature map (B, C, H, W) or tokens (B, L, C), got shape '
                f'{tuple(x.shape)}; remove the GlobalAveragePooling neck (neck=None) and, for a ViT backbone, '
                "use out_type='featmap' or 'raw'")
        if x.size(1) != self.in_channels:
            raise ValueError(f'{name}: in_channels={self.in_channels}, but the input has {x.size(1)} channels '
                             f'(shape {tuple(x.shape)})')
        return x

    def forward(self, feats: Union[Tuple[torch.Tensor, ...], Sequence[torch.Tensor]]) -> torch.Tensor:
        """Class logits (B, num_classes) from the last backbone output."""
        x = self.pre_logits(feats)
        batch = x.size(0)
        length = x.size(2) * x.size(3)
        if self.kv_split:
            keys, values = x[:, :self.key_channels], x[:, self.key_channels:]
        else:
            keys = values = x
        shape = (batch, self.head_num, self.num_classes, length)
        attn = self.query(keys).reshape(shape).softmax(dim=-1)
        value = self.dropout(self.value(values).reshape(shape))
        return (attn * value).sum(dim=(1, 3))
