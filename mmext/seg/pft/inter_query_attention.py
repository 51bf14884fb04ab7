"""Cross-scale inter-query attention of PFT.

"Pyramid Fusion Transformer for Semantic Segmentation", Qin et al., arXiv 2201.04019.
"""
from typing import List, Optional

import torch
from mmcv.cnn import build_norm_layer
from mmcv.cnn.bricks.transformer import MultiheadAttention
from mmengine.model import BaseModule
from torch import Tensor

__all__ = ['CrossScaleInterQueryAttention']


class CrossScaleInterQueryAttention(BaseModule):
    """Attention between the queries of the same index across the scale branches.

    PFT (Qin et al., "Pyramid Fusion Transformer for Semantic Segmentation", arXiv 2201.04019) keeps one query set
    per pyramid level. After each branch has attended to its own level, the query ``i`` of every branch attends to
    the query ``i`` of all branches (a sequence of length ``num_branches``), which exchanges information between
    scales at the cost of one tiny attention per query index. A residual connection (inside mmcv's
    ``MultiheadAttention``) and a post-norm follow, as in the other sub-layers of the decoder layer.

    Args:
        attn_cfg (dict): Config of mmcv's ``MultiheadAttention`` (``embed_dims``, ``num_heads``, ``attn_drop``,
            ``proj_drop`` ...); ``batch_first`` is forced to True.
        norm_cfg (dict): Config of the post-norm. Defaults to ``dict(type='LN')``.
        init_cfg (dict, optional): Initialization config. Defaults to None.
    """

    def __init__(self, attn_cfg: dict, norm_cfg: dict = dict(type='LN'), init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if not isinstance(attn_cfg, dict) or 'embed_dims' not in attn_cfg:
            raise ValueError(f'attn_cfg must be a dict with embed_dims and num_heads, got {attn_cfg!r}')
        self.attn = MultiheadAttention(**dict(attn_cfg, batch_first=True))
        self.embed_dims = self.attn.embed_dims
        self.norm = build_norm_layer(norm_cfg, self.embed_dims)[1]

    def forward(self, queries: List[Tensor], query_pos: Optional[List[Tensor]] = None) -> List[Tensor]:
        """Mix the queries of equal index across branches.

        Args:
            queries (list[Tensor]): One tensor per branch, each ``(B, N, C)`` with the same ``B``, ``N``, ``C``.
            query_pos (list[Tensor], optional): Positional embeddings of the same shapes (added to queries and
                keys, not to values). Defaults to None.

        Returns:
            list[Tensor]: The updated queries, one ``(B, N, C)`` tensor per branch.
        """
        if len(queries) < 1:
            raise ValueError('queries must hold at least one branch')
        shapes = {tuple(q.shape) for q in queries}
        if len(shapes) != 1:
            raise ValueError(f'every branch must have the same (B, N, C) query shape, got {sorted(shapes)}')
        b, n, c = queries[0].shape
        num_branches = len(queries)
        # (B, N, S, C) -> (B*N, S, C): one length-S sequence per (image, query index)
        seq = torch.stack(queries, dim=2).reshape(b * n, num_branches, c)
        pos = None
        if query_pos is not None:
            pos = torch.stack(query_pos, dim=2).reshape(b * n, num_branches, c)
        out = self.norm(self.attn(query=seq, key=seq, value=seq, query_pos=pos, key_pos=pos))
        out = out.reshape(b, n, num_branches, c)
        return list(out.unbind(dim=2))
