#!/usr/bin/env bash
# The main job: set up the environment if needed, then train and evaluate the quick-start detector (RON, light
# variant) on Shapes.
# Extra arguments go to tools/train.py (e.g. --work-dir, --cfg-options).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/tools/setup_env.sh"
cd "$ROOT"
exec "${MMEXT_VENV:-$ROOT/.venv}/bin/python" tools/train.py configs/ron/ron160_vgg16-w0125-bn_1xb8-12e_shapes.py "$@"
