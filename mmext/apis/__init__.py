"""Helpers behind mmext's command-line tools."""
from .runner_setup import build_runner, enable_visualization, load_config, setup_cpu_distributed

__all__ = ['build_runner', 'enable_visualization', 'load_config', 'setup_cpu_distributed']
