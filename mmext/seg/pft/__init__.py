"""PFT: "Pyramid Fusion Transformer for Semantic Segmentation" (Qin et al., arXiv 2201.04019) for mmseg."""
from .decoder import PFTTransformerDecoder
from .decoder_layer import PFTTransformerDecoderLayer
from .inter_query_attention import CrossScaleInterQueryAttention
from .pft_head import PFTHead
from .pixel_decoder import build_pft_pixel_decoder

__all__ = [
    'CrossScaleInterQueryAttention', 'PFTHead', 'PFTTransformerDecoder', 'PFTTransformerDecoderLayer',
    'build_pft_pixel_decoder'
]
