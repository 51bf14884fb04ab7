"""Distillation losses, computed in fp32."""
from .dct_highpass_mse_loss import DCTHighPassMSELoss
from .kl_div_loss import DistillKLDivLoss
from .mse_loss import DistillMSELoss
from .norm_loss import NORMLoss
from .omni_contrastive_loss import OmniContrastiveLoss
from .pairwise_kl_loss import PairwiseKLLoss
from .soft_ce_kd_loss import SoftCrossEntropyKDLoss
from .utils import fp32_region, kl_div_logits

__all__ = ['DCTHighPassMSELoss', 'DistillKLDivLoss', 'DistillMSELoss', 'NORMLoss', 'OmniContrastiveLoss',
           'PairwiseKLLoss', 'SoftCrossEntropyKDLoss', 'fp32_region', 'kl_div_logits']
