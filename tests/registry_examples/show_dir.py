"""Registry examples: the test-time painting hook of tools/test.py --show-dir (all three scopes)."""
from typing import Callable, Dict

EXAMPLES: Dict[str, Callable[[str], dict]] = {
    'ShowDirVisualizationHook': lambda data_root: dict(type='ShowDirVisualizationHook', out_dir=data_root + 'vis'),
}
