"""Utilities: safe checkpoint loading, timing helpers."""
from .benchmark import measure, peak_rss_mib
from .checkpoint import CheckpointSafetyError, install_safe_checkpoint_loading, mmengine_safe_globals, safe_load
from .input_checks import check_in_channels

__all__ = ['CheckpointSafetyError', 'install_safe_checkpoint_loading', 'mmengine_safe_globals', 'safe_load', 'measure',
           'peak_rss_mib', 'check_in_channels']
