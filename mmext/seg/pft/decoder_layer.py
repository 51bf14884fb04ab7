"""One PFT transformer decoder layer: parallel scale branches joined by cross-scale inter-query attention.

"Pyramid Fusion Transformer for Semantic Segmentation", Qin et al., arXiv 2201.04019.
"""
from typing import List, Optional

from mmcv.cnn import build_norm_layer
from mmcv.cnn.bricks.transformer import FFN, MultiheadAttention
from mmengine.model import BaseModule, ModuleList
from torch import Tensor

from .inter_query_attention import CrossScaleInterQueryAttention

__all__ = ['PFTTransformerDecoderLayer']


class PFTTransformerDecoderLayer(BaseModule):
    """A decoder layer of PFT with ``num_branches`` scale branches.

    Following PFT (Qin et al., "Pyramid Fusion Transformer for Semantic Segmentation", arXiv 2201.04019), each
    branch owns a query set tied to one pyramid level of the pixel decoder. One layer runs, with post-norms:

    1. self-attention among the queries of each branch (separate weights per branch);
    2. cross-attention of each branch to the flattened features of its own level, the branches in parallel;
    3. cross-scale inter-query attention (:class:`CrossScaleInterQueryAttention`): query ``i`` of every branch
       attends to query ``i`` of all branches;
    4. a feed-forward network per branch.

    Args:
        num_branches (int): Number of scale branches (pyramid levels). Defaults to 3.
        self_attn_cfg (dict): mmcv ``MultiheadAttention`` config of the in-branch self-attention.
            Defaults to ``dict(embed_dims=256, num_heads=8, attn_drop=0.0, proj_drop=0.0)``.
        cross_attn_cfg (dict): mmcv ``MultiheadAttention`` config of the query-to-level cross-attention.
            Defaults to ``dict(embed_dims=256, num_heads=8, attn_drop=0.0, proj_drop=0.0)``.
        inter_attn_cfg (dict, optional): mmcv ``MultiheadAttention`` config of the cross-scale inter-query
            attention. Defaults to None, meaning ``self_attn_cfg``.
        ffn_cfg (dict): mmcv ``FFN`` config. Defaults to
            ``dict(embed_dims=256, feedforward_channels=2048, num_fcs=2, ffn_drop=0.0)``.
        norm_cfg (dict): Post-norm config. Defaults to ``dict(type='LN')``.
        init_cfg (dict, optional): Initialization config. Defaults to None.
    """

    def __init__(self,
                 num_branches: int = 3,
                 self_attn_cfg: dict = dict(embed_dims=256, num_heads=8, attn_drop=0.0, proj_drop=0.0),
                 cross_attn_cfg: dict = dict(embed_dims=256, num_heads=8, attn_drop=0.0, proj_drop=0.0),
                 inter_attn_cfg: Optional[dict] = None,
                 ffn_cfg: dict = dict(embed_dims=256, feedforward_channels=2048, num_fcs=2, ffn_drop=0.0),
                 norm_cfg: dict = dict(type='LN'),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if not isinstance(num_branches, int) or num_branches < 1:
            raise ValueError(f'num_branches must be a positive int, got {num_branches!r}')
        dims = {cfg.get('embed_dims') for cfg in (self_attn_cfg, cross_attn_cfg, ffn_cfg)}
        if len(dims) != 1:
            raise ValueError('self_attn_cfg, cross_attn_cfg and ffn_cfg must share one embed_dims, '
                             f'got {sorted(dims, key=str)}')
        self.num_branches = num_branches
        self.embed_dims = dims.pop()
        self.self_attns = ModuleList(
            [MultiheadAttention(**dict(self_attn_cfg, batch_first=True)) for _ in range(num_branches)])
        self.cross_attns = ModuleList(
            [MultiheadAttention(**dict(cross_attn_cfg, batch_first=True)) for _ in range(num_branches)])
        self.inter_attn = CrossScaleInterQueryAttention(
            self_attn_cfg if inter_attn_cfg is None else inter_attn_cfg, norm_cfg=norm_cfg)
        self.ffns = ModuleList([FFN(**ffn_cfg) for _ in range(num_branches)])
        # per branch: norm after self-attention, after cross-attention, after the FFN
        self.norms = ModuleList([
            ModuleList([build_norm_layer(norm_cfg, self.embed_dims)[1] for _ in range(3)])
            for _ in range(num_branches)
        ])

    def forward(self, queries: List[Tensor], query_pos: List[Tensor], keys: List[Tensor],
                key_pos: List[Tensor]) -> List[Tensor]:
        """Run the layer.

        Args:
            queries (list[Tensor]): Queries per branch, each ``(B, N, C)``.
            query_pos (list[Tensor]): Query positional embeddings per branch, each ``(B, N, C)``.
            keys (list[Tensor]): Flattened level features per branch, each ``(B, H_l*W_l, C)``.
            key_pos (list[Tensor]): Positional encodings of ``keys``, same shapes.

        Returns:
            list[Tensor]: Updated queries per branch, each ``(B, N, C)``.
        """
        for name, seq in (('queries', queries), ('query_pos', query_pos), ('keys', keys), ('key_pos', key_pos)):
            if len(seq) != self.num_branches:
                raise ValueError(f'{name} must hold num_branches={self.num_branches} tensors, got {len(seq)}')
        branch_out = []
        for s in range(self.num_branches):
            q, pos = queries[s], query_pos[s]
            q = self.norms[s][0](self.self_attns[s](query=q, key=q, value=q, query_pos=pos, key_pos=pos))
            q = self.norms[s][1](self.cross_attns[s](query=q, key=keys[s], value=keys[s], query_pos=pos,
                                                     key_pos=key_pos[s]))
            branch_out.append(q)
        branch_out = self.inter_attn(branch_out, query_pos)
        return [self.norms[s][2](self.ffns[s](q)) for s, q in enumerate(branch_out)]
