"""The cross-attention projector (CAP) of ScaleKD ("ScaleKD: Strong Vision Transformers Could Be Excellent
Teachers", Fan et al., NeurIPS 2024, arXiv:2411.06786)."""
from typing import Optional, Sequence

import torch
from mmcv.cnn.bricks.transformer import FFN
from mmengine.model import BaseModule
from mmengine.model.weight_init import trunc_normal_
from torch import nn

from mmext.registry import register

__all__ = ['CrossAttentionProjector']


@register('MODELS')
class CrossAttentionProjector(BaseModule):
    """Maps a student feature map onto the teacher's token grid by global multi-head cross-attention.

    The student map ``(B, C_s, H_s, W_s)`` goes through ``Conv3x3 + BN + ReLU`` plus a learnable positional
    embedding ``(1, C_s, H_s, W_s)`` (trunc-normal, std 0.02) and gives the keys and values. The queries, one per
    teacher token, are learnable (``self_query=True``, an ``Embedding(H_t * W_t, C_t)``) or given (ScaleKD's
    stage-4 projector takes the stage-3 tokens after the teacher's last stage), and pass through ``Conv1x1 +
    ReLU``. Attention logits are scaled by ``head_dim ** -0.5 * softmax_scale``; then an output projection and
    ``FFN(LayerNorm(x))`` (ReLU, hidden ``4 * C_t``, identity added after the norm, mmcv's ``FFN``). The output is
    ``(B, H_t * W_t, C_t)`` tokens.

    Unlike the release, the student grid ``student_hw`` and the teacher grid ``query_hw`` are separate settings,
    so a CNN stage at any resolution maps onto a ViT's token grid (ScaleKD issue #2).

    Args:
        student_channels (int): ``C_s``.
        teacher_channels (int): ``C_t``.
        student_hw (Sequence[int]): The student map's (H_s, W_s).
        query_hw (Sequence[int]): The teacher grid (H_t, W_t).
        num_heads (int): Attention heads (must divide ``C_t``). Defaults to 8.
        softmax_scale (float): Extra logit scale. Defaults to 5.0 (ScaleKD's configs).
        self_query (bool): Learnable queries (True) or given ones. Defaults to True.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self, student_channels: int, teacher_channels: int, student_hw: Sequence[int],
                 query_hw: Sequence[int], num_heads: int = 8, softmax_scale: float = 5.0, self_query: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if teacher_channels % num_heads:
            raise ValueError(f'CrossAttentionProjector: num_heads ({num_heads}) must divide teacher_channels '
                             f'({teacher_channels})')
        if len(student_hw) != 2 or len(query_hw) != 2:
            raise ValueError(f'CrossAttentionProjector: student_hw and query_hw must be (H, W), got {student_hw} '
                             f'and {query_hw}')
        self.student_channels, self.teacher_channels = student_channels, teacher_channels
        self.student_hw, self.query_hw = tuple(student_hw), tuple(query_hw)
        self.num_heads = num_heads
        self.scale = (teacher_channels // num_heads)**-0.5 * softmax_scale
        self.self_query = self_query
        cs, ct = student_channels, teacher_channels
        self.proj_student = nn.Sequential(nn.Conv2d(cs, cs, 3, padding=1), nn.BatchNorm2d(cs), nn.ReLU())
        self.pos_embed = nn.Parameter(torch.zeros(1, cs, *self.student_hw))
        trunc_normal_(self.pos_embed, std=0.02)
        self.proj_query = nn.Sequential(nn.Conv2d(ct, ct, 1), nn.ReLU())
        self.query = nn.Embedding(self.query_hw[0] * self.query_hw[1], ct) if self_query else None
        self.q = nn.Linear(ct, ct)
        self.k = nn.Linear(cs, ct)
        self.v = nn.Linear(cs, ct)
        self.proj = nn.Linear(ct, ct)
        self.norm = nn.LayerNorm(ct)
        self.ffn = FFN(embed_dims=ct, feedforward_channels=4 * ct)

    def forward(self, x: torch.Tensor, query: Optional[torch.Tensor] = None) -> torch.Tensor:
        b = x.shape[0]
        if x.dim() != 4 or x.shape[1] != self.student_channels or tuple(x.shape[-2:]) != self.student_hw:
            raise ValueError(f'CrossAttentionProjector: expected a student map (B, {self.student_channels}, '
                             f'{self.student_hw[0]}, {self.student_hw[1]}) (student_channels, student_hw), got '
                             f'{tuple(x.shape)}')
        ht, wt = self.query_hw
        if query is None:
            if self.query is None:
                raise ValueError('CrossAttentionProjector: self_query=False needs a `query` (B, H_t*W_t, C_t)')
            query = self.query.weight.unsqueeze(0).expand(b, -1, -1)
        elif tuple(query.shape) != (b, ht * wt, self.teacher_channels):
            raise ValueError(f'CrossAttentionProjector: query must be (B, {ht * wt}, {self.teacher_channels}) '
                             f'(query_hw, teacher_channels), got {tuple(query.shape)}')
        q_map = query.transpose(1, 2).reshape(b, self.teacher_channels, ht, wt)
        q_tok = self.proj_query(q_map).flatten(2).transpose(1, 2)
        kv = (self.proj_student(x) + self.pos_embed).flatten(2).transpose(1, 2)
        nh, hd = self.num_heads, self.teacher_channels // self.num_heads
        q = self.q(q_tok).reshape(b, -1, nh, hd).transpose(1, 2)
        k = self.k(kv).reshape(b, -1, nh, hd).transpose(1, 2)
        v = self.v(kv).reshape(b, -1, nh, hd).transpose(1, 2)
        attn = ((q @ k.transpose(-2, -1)) * self.scale).softmax(dim=-1)
        out = (attn @ v).transpose(1, 2).reshape(b, ht * wt, self.teacher_channels)
        out = self.proj(out)
        return self.ffn(self.norm(out))
