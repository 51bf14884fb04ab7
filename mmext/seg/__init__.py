"""mmseg-only components (decode heads ...)."""
from ..registry import available_scopes

__all__: list = []

# PFT builds mmdet's deformable pixel decoder, matcher and losses, as mmseg's own Mask2Former head does
if 'mmdet' in available_scopes():
    from .pft import PFTHead  # noqa: F401
    __all__ += ['PFTHead']

# semantic scene completion (ESSCNet / SGC) on mmext's sparse-conv backend
from .ssc import ESSCNet, SSCDataPreprocessor, SSCMetric, SSCSelectedCELoss  # noqa: E402,F401
__all__ += ['ESSCNet', 'SSCDataPreprocessor', 'SSCMetric', 'SSCSelectedCELoss']
