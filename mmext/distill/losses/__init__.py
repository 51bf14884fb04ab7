"""Distillation losses, computed in fp32."""
from .kl_div_loss import DistillKLDivLoss
from .mse_loss import DistillMSELoss
from .norm_loss import NORMLoss
from .pairwise_kl_loss import PairwiseKLLoss
from .utils import fp32_region, kl_div_logits

__all__ = ['DistillKLDivLoss', 'DistillMSELoss', 'NORMLoss', 'PairwiseKLLoss', 'fp32_region', 'kl_div_logits']
