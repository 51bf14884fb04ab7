"""Utilities: safe checkpoint loading, timing helpers."""
from .benchmark import measure, peak_rss_mib
from .checkpoint import CheckpointSafetyError, install_safe_checkpoint_loading, mmengine_safe_globals, safe_load

__all__ = ['CheckpointSafetyError', 'install_safe_checkpoint_loading', 'mmengine_safe_globals', 'safe_load', 'measure', 'peak_rss_mib']
