#!/usr/bin/env bash
# The test command: set up the environment if needed, then run the pytest suite (CUDA tests skip without a GPU).
# Extra arguments go to pytest (e.g. -k checkpoint, -m cuda).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/tools/setup_env.sh"
cd "$ROOT"
exec "${MMEXT_VENV:-$ROOT/.venv}/bin/python" -m pytest tests "$@"
