"""PFT decode head for mmsegmentation: multi-scale per-mask classification with fused scale branches.

"Pyramid Fusion Transformer for Semantic Segmentation", Qin et al., arXiv 2201.04019.
"""
import copy
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import Conv2d
from mmdet.models.dense_heads import AnchorFreeHead
from mmdet.models.layers import SinePositionalEncoding
from mmengine.config import ConfigDict
from mmengine.model import ModuleList
from mmseg.models.decode_heads import Mask2FormerHead
from mmseg.registry import MODELS, TASK_UTILS
from mmseg.utils import SampleList
from torch import Tensor

from mmext.registry import register
from mmext.utils.input_checks import check_in_channels
from .decoder import PFTTransformerDecoder
from .pixel_decoder import build_pft_pixel_decoder

__all__ = ['PFTHead']


def _default_losses(num_classes: int) -> Tuple[dict, dict, dict]:
    """mmseg's Mask2Former losses: CE (no-object weight 0.1) x2, point-sampled mask BCE x5, dice x5."""
    loss_cls = dict(type='mmdet.CrossEntropyLoss', use_sigmoid=False, loss_weight=2.0, reduction='mean',
                    class_weight=[1.0] * num_classes + [0.1])
    loss_mask = dict(type='mmdet.CrossEntropyLoss', use_sigmoid=True, reduction='mean', loss_weight=5.0)
    loss_dice = dict(type='mmdet.DiceLoss', use_sigmoid=True, activate=True, reduction='mean', naive_dice=True,
                     eps=1.0, loss_weight=5.0)
    return loss_cls, loss_mask, loss_dice


@register('MODELS', scopes=['mmseg'])
class PFTHead(Mask2FormerHead):
    """Pyramid Fusion Transformer (PFT) decode head.

    "Pyramid Fusion Transformer for Semantic Segmentation", Qin et al., arXiv 2201.04019. A per-mask
    classification head (MaskFormer-style) whose transformer decoder works on several pyramid levels at once:

    - a pixel decoder (mmdet's ``MSDeformAttnPixelDecoder``) gives ``num_transformer_feat_level`` levels
      (1/32, 1/16, 1/8 by default) and a 1/4-resolution mask feature;
    - each level has its own set of ``num_queries`` learnable queries (a *branch*);
    - every decoder layer (:class:`PFTTransformerDecoderLayer`) runs self-attention inside each branch,
      cross-attention of each branch to its own level in parallel, the cross-scale inter-query attention across
      the branches, then an FFN;
    - after every layer, the class logits and mask embeddings of the branches are predicted with shared heads and
      fused by averaging over the branches (query ``i`` of every branch describes the same segment, since the
      inter-query attention ties them); the mask logits are the fused mask embedding times the mask feature,
      which equals the average of the per-branch mask logits. Every layer's fused prediction is supervised
      (deep supervision) and the last one is the output.

    Matching (Hungarian with class / mask / dice costs), the point-sampled mask and dice losses and the semantic
    inference ``einsum('bqc,bqhw->bchw', softmax(cls)[..., :-1], sigmoid(mask))`` are inherited from mmseg's /
    mmdet's ``Mask2FormerHead``, not rewritten.

    Args:
        in_channels (list[int]): Channels of the backbone levels, high to low resolution.
        feat_channels (int): Channels of the pixel decoder's multi-scale outputs.
        out_channels (int): Channels of the mask feature (and of the mask embeddings).
        num_classes (int): Number of classes (without the no-object class).
        num_queries (int): Queries per branch. Defaults to 100.
        num_transformer_feat_level (int): Pyramid levels, i.e. branches. Defaults to 3.
        strides (Sequence[int]): Strides of the backbone levels. Defaults to (4, 8, 16, 32).
        pixel_decoder (dict): Pixel decoder config (see :func:`build_pft_pixel_decoder`).
        enforce_decoder_input_project (bool): Project the levels with a 1x1 conv even when channels already
            match the decoder's. Defaults to False.
        transformer_decoder (dict): :class:`PFTTransformerDecoder` config; ``layer_cfg.num_branches`` must equal
            ``num_transformer_feat_level`` (it is filled in when missing).
        positional_encoding (dict): Sine positional encoding of the level features. Defaults to
            ``dict(num_feats=128, normalize=True)``.
        loss_cls (dict, optional): Classification loss. Defaults to None: mmseg Mask2Former's (CE, weight 2.0,
            no-object class weight 0.1).
        loss_mask (dict, optional): Mask loss. Defaults to None: BCE on sampled points, weight 5.0.
        loss_dice (dict, optional): Dice loss. Defaults to None: weight 5.0.
        align_corners (bool): ``align_corners`` of the resize in the segmentor. Defaults to False.
        ignore_index (int): Ignored label. Defaults to 255.
        train_cfg (dict, optional): ``assigner``, ``sampler``, ``num_points`` (12544), ``oversample_ratio``
            (3.0), ``importance_sample_ratio`` (0.75). Needed for :meth:`loss`. Defaults to None.
        test_cfg (dict, optional): Unused (semantic inference needs no settings). Defaults to None.
        init_cfg (dict, optional): Initialization config. Defaults to None.
    """

    def __init__(self,
                 in_channels: List[int],
                 feat_channels: int,
                 out_channels: int,
                 num_classes: int,
                 num_queries: int = 100,
                 num_transformer_feat_level: int = 3,
                 strides: Sequence[int] = (4, 8, 16, 32),
                 pixel_decoder: Optional[dict] = None,
                 enforce_decoder_input_project: bool = False,
                 transformer_decoder: Optional[dict] = None,
                 positional_encoding: dict = dict(num_feats=128, normalize=True),
                 loss_cls: Optional[dict] = None,
                 loss_mask: Optional[dict] = None,
                 loss_dice: Optional[dict] = None,
                 align_corners: bool = False,
                 ignore_index: int = 255,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        # Skip the Mask2Former constructors (they build Mask2Former's own decoder); the base dense head sets up
        # BaseModule, as mmdet's Mask2FormerHead itself does.
        super(AnchorFreeHead, self).__init__(init_cfg=init_cfg)
        for name, value in (('num_classes', num_classes), ('num_queries', num_queries),
                            ('num_transformer_feat_level', num_transformer_feat_level),
                            ('feat_channels', feat_channels), ('out_channels', out_channels)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f'{name} must be a positive int, got {value!r}')
        if pixel_decoder is None or transformer_decoder is None:
            raise ValueError('pixel_decoder and transformer_decoder configs are required')
        num_levels = num_transformer_feat_level
        self.num_classes = num_classes
        self.out_channels = num_classes  # what mmseg's EncoderDecoder reads: channels of the seg logits
        self.align_corners = align_corners
        self.ignore_index = ignore_index
        self.num_queries = num_queries
        self.num_transformer_feat_level = num_levels

        self.in_channels = list(in_channels)
        self.pixel_decoder = build_pft_pixel_decoder(pixel_decoder, in_channels, strides, feat_channels,
                                                     out_channels, num_levels, MODELS)
        decoder_cfg = copy.deepcopy(dict(transformer_decoder))
        layer_cfg = dict(decoder_cfg.get('layer_cfg') or {})
        if layer_cfg.setdefault('num_branches', num_levels) != num_levels:
            raise ValueError(f'transformer_decoder.layer_cfg.num_branches must equal num_transformer_feat_level='
                             f'{num_levels}, got {layer_cfg["num_branches"]}')
        decoder_cfg['layer_cfg'] = layer_cfg
        self.transformer_decoder = PFTTransformerDecoder(**decoder_cfg)
        self.num_transformer_decoder_layers = self.transformer_decoder.num_layers
        embed_dims = self.decoder_embed_dims = self.transformer_decoder.embed_dims
        if positional_encoding.get('num_feats', 0) * 2 != embed_dims:
            raise ValueError(f'positional_encoding.num_feats must be decoder embed_dims / 2 = {embed_dims // 2}, '
                             f'got {positional_encoding.get("num_feats")}')

        # from low to high resolution, like the pixel decoder's outputs
        self.decoder_input_projs = ModuleList([
            Conv2d(feat_channels, embed_dims, kernel_size=1)
            if embed_dims != feat_channels or enforce_decoder_input_project else nn.Identity()
            for _ in range(num_levels)
        ])
        self.decoder_positional_encoding = SinePositionalEncoding(**positional_encoding)
        self.level_embed = nn.Embedding(num_levels, embed_dims)
        # one query set per level: row block l holds the queries of branch l
        self.query_feat = nn.Embedding(num_levels * num_queries, embed_dims)
        self.query_embed = nn.Embedding(num_levels * num_queries, embed_dims)
        self.cls_embed = nn.Linear(embed_dims, num_classes + 1)
        self.mask_embed = nn.Sequential(
            nn.Linear(embed_dims, embed_dims), nn.ReLU(inplace=True), nn.Linear(embed_dims, embed_dims),
            nn.ReLU(inplace=True), nn.Linear(embed_dims, out_channels))

        self.train_cfg = train_cfg
        self.test_cfg = test_cfg
        if train_cfg:
            self.assigner = TASK_UTILS.build(train_cfg['assigner'])
            self.sampler = TASK_UTILS.build(train_cfg['sampler'], default_args=dict(context=self))
            self.num_points = train_cfg.get('num_points', 12544)
            self.oversample_ratio = train_cfg.get('oversample_ratio', 3.0)
            self.importance_sample_ratio = train_cfg.get('importance_sample_ratio', 0.75)
        default_cls, default_mask, default_dice = _default_losses(num_classes)
        loss_cls = ConfigDict(default_cls if loss_cls is None else loss_cls)
        class_weight = loss_cls.get('class_weight')
        if class_weight is None or len(class_weight) != num_classes + 1:
            raise ValueError(f'loss_cls.class_weight must list num_classes + 1 = {num_classes + 1} weights '
                             f'(the last one for no-object), got {class_weight!r}')
        self.class_weight = class_weight
        self.loss_cls = MODELS.build(loss_cls)
        self.loss_mask = MODELS.build(default_mask if loss_mask is None else loss_mask)
        self.loss_dice = MODELS.build(default_dice if loss_dice is None else loss_dice)

    def _decoder_inputs(self, multi_scale_memorys: List[Tensor]) -> Tuple[List[Tensor], List[Tensor]]:
        """Flatten each level to ``(B, HW, C)`` keys (plus level embedding) and their sine position codes."""
        keys, key_pos = [], []
        for i, memory in enumerate(multi_scale_memorys):
            feat = self.decoder_input_projs[i](memory)
            padding = feat.new_zeros((feat.shape[0], ) + feat.shape[-2:], dtype=torch.bool)
            keys.append(feat.flatten(2).transpose(1, 2) + self.level_embed.weight[i].view(1, 1, -1))
            key_pos.append(self.decoder_positional_encoding(padding).flatten(2).transpose(1, 2))
        return keys, key_pos

    def _branch_queries(self, embedding: nn.Embedding, batch_size: int) -> List[Tensor]:
        """Split a ``(L*N, C)`` query table into ``L`` branches, each expanded to ``(B, N, C)``."""
        table = embedding.weight.view(self.num_transformer_feat_level, self.num_queries, -1)
        return [t.unsqueeze(0).expand(batch_size, -1, -1) for t in table.unbind(0)]

    def fuse_predictions(self, branch_queries: List[Tensor], mask_features: Tensor) -> Tuple[Tensor, Tensor]:
        """Class logits and mask logits averaged over the branches.

        Args:
            branch_queries (list[Tensor]): Post-normed queries per branch, each ``(B, N, C)``.
            mask_features (Tensor): ``(B, out_channels, H/4, W/4)``.

        Returns:
            tuple[Tensor, Tensor]: ``(B, N, num_classes + 1)`` class logits and ``(B, N, H/4, W/4)`` mask logits.
        """
        stacked = torch.stack(branch_queries, dim=0)  # (S, B, N, C)
        cls_pred = self.cls_embed(stacked).mean(dim=0)
        # mean of the per-branch mask logits == logits of the mean mask embedding (the product is linear)
        mask_embed = self.mask_embed(stacked).mean(dim=0)
        mask_pred = torch.einsum('bqc,bchw->bqhw', mask_embed, mask_features)
        return cls_pred, mask_pred

    def forward(self, x: Sequence[Tensor],
                batch_data_samples: Optional[SampleList] = None) -> Tuple[List[Tensor], List[Tensor]]:
        """Run the pixel decoder and the PFT decoder.

        Args:
            x (Sequence[Tensor]): Backbone features, high to low resolution, one per entry of ``in_channels``.
            batch_data_samples (list, optional): Unused; accepted for the signature of mmseg's heads (the
                segmentor's ``tensor`` mode calls ``forward(x)`` alone).

        Returns:
            tuple[list[Tensor], list[Tensor]]: Per decoder layer (deep supervision; the last is the output), the
            fused class logits ``(B, N, num_classes + 1)`` and mask logits ``(B, N, H/4, W/4)``.
        """
        check_in_channels(self, x, self.in_channels)
        batch_size = x[0].shape[0]
        mask_features, multi_scale_memorys = self.pixel_decoder(x)
        keys, key_pos = self._decoder_inputs(multi_scale_memorys)
        queries = self._branch_queries(self.query_feat, batch_size)
        query_pos = self._branch_queries(self.query_embed, batch_size)
        cls_pred_list, mask_pred_list = [], []
        for branch_queries in self.transformer_decoder(queries, query_pos, keys, key_pos):
            cls_pred, mask_pred = self.fuse_predictions(branch_queries, mask_features)
            cls_pred_list.append(cls_pred)
            mask_pred_list.append(mask_pred)
        return cls_pred_list, mask_pred_list
