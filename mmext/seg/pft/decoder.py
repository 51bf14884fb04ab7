"""The PFT transformer decoder: a stack of multi-branch layers plus a shared output norm.

"Pyramid Fusion Transformer for Semantic Segmentation", Qin et al., arXiv 2201.04019.
"""
from typing import List, Optional

from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule, ModuleList
from torch import Tensor

from .decoder_layer import PFTTransformerDecoderLayer

__all__ = ['PFTTransformerDecoder']


class PFTTransformerDecoder(BaseModule):
    """Stack of :class:`PFTTransformerDecoderLayer` returning the queries after every layer.

    Args:
        num_layers (int): Number of decoder layers; each one yields a prediction for deep supervision.
            Defaults to 6.
        layer_cfg (dict): Keyword arguments of :class:`PFTTransformerDecoderLayer` (``num_branches`` included).
            Defaults to an empty dict (the layer's defaults).
        post_norm_cfg (dict): Norm applied to the queries before the prediction heads. Defaults to
            ``dict(type='LN')``.
        return_intermediate (bool): Accepted so that a Mask2Former ``transformer_decoder`` config works
            unchanged; must be True (every layer's prediction is supervised). Defaults to True.
        init_cfg (dict, optional): Initialization config. Defaults to None.
    """

    def __init__(self,
                 num_layers: int = 6,
                 layer_cfg: Optional[dict] = None,
                 post_norm_cfg: dict = dict(type='LN'),
                 return_intermediate: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if return_intermediate is not True:
            raise ValueError('PFTTransformerDecoder: return_intermediate=False cannot be honoured: PFT supervises '
                             'the prediction of every decoder layer (deep supervision); use True')
        if not isinstance(num_layers, int) or num_layers < 1:
            raise ValueError(f'num_layers must be a positive int, got {num_layers!r}')
        layer_cfg = dict(layer_cfg or {})
        self.layers = ModuleList([PFTTransformerDecoderLayer(**layer_cfg) for _ in range(num_layers)])
        self.num_layers = num_layers
        self.num_branches = self.layers[0].num_branches
        self.embed_dims = self.layers[0].embed_dims
        self.post_norm = build_norm_layer(post_norm_cfg, self.embed_dims)[1]

    def forward(self, queries: List[Tensor], query_pos: List[Tensor], keys: List[Tensor],
                key_pos: List[Tensor]) -> List[List[Tensor]]:
        """Run all layers.

        Args:
            queries, query_pos, keys, key_pos: As in :meth:`PFTTransformerDecoderLayer.forward`.

        Returns:
            list[list[Tensor]]: For every layer, the post-normed queries of every branch, each ``(B, N, C)``.
        """
        outputs = []
        for layer in self.layers:
            queries = layer(queries, query_pos, keys, key_pos)
            outputs.append([self.post_norm(q) for q in queries])
        return outputs
