"""Helpers behind mmext's command-line tools."""
from .cli import add_common_args, finish_args
from .runner_setup import (build_runner, enable_visualization, load_config, setup_cpu_distributed,
                           teardown_distributed)

__all__ = ['add_common_args', 'finish_args', 'build_runner', 'enable_visualization', 'load_config', 'setup_cpu_distributed',
           'teardown_distributed']
