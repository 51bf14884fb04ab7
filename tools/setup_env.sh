#!/usr/bin/env bash
# Installs the verified OpenMMLab stack and mmext (editable) into a project-local virtual environment.
#
# Idempotent: when the environment is complete (a stamp keyed on this script and requirements/*.txt) and
# mmcv's compiled ops import, it returns in seconds. mmcv 2.1.0 is built from source with its ops
# (about 9 minutes on 2 cores); the built wheel is cached in $MMEXT_CACHE so a fresh clone on the same
# machine reuses it.
#
# Environment variables:
#   MMEXT_VENV   where the virtual environment lives (default: <repo>/.venv)
#   MMEXT_CACHE  where the built mmcv wheel is cached (default: ${XDG_CACHE_HOME:-~/.cache}/mmext)
#   MMEXT_PYTHON the interpreter that creates the environment (default: python3, must be >= 3.10)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MMEXT_VENV:-$ROOT/.venv}"
CACHE="${MMEXT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mmext}"
PY_HOST="${MMEXT_PYTHON:-python3}"
PY="$VENV/bin/python"

TORCH_VER=2.14.1
TORCHVISION_VER=0.29.1
MMCV_VER=2.1.0

say() { echo "[mmext setup] $*" >&2; }
die() { echo "[mmext setup] ERROR: $*" >&2; exit 1; }

stamp_key="$(cat "$ROOT/tools/setup_env.sh" "$ROOT"/requirements/*.txt "$ROOT/setup.py" 2>/dev/null | sha1sum | cut -c1-12)"
STAMP="$VENV/.mmext-stack-$stamp_key"

check_ops() {
  "$PY" - <<'PYEOF'
import sys
try:
    from mmcv.ops import nms, ModulatedDeformConv2dPack  # noqa: F401
    import mmcv.ops
    from mmcv.utils import ext_loader
    ext_loader.load_ext('_ext', ['nms'])
except Exception as exc:  # pragma: no cover - reported to the user
    sys.stderr.write(f'mmcv compiled ops do not load: {exc!r}\n')
    sys.exit(1)
PYEOF
}

if [ -f "$STAMP" ] && [ -x "$PY" ]; then
  if check_ops; then
    exit 0
  fi
  say "environment at $VENV is stamped complete but mmcv's ops do not load; reinstalling mmcv"
  rm -f "$STAMP"
fi

start=$(date +%s)
"$PY_HOST" -c 'import sys; assert sys.version_info >= (3, 10), sys.version' \
  || die "$PY_HOST is missing or older than Python 3.10; set MMEXT_PYTHON to a Python >= 3.10"

if [ ! -x "$PY" ]; then
  say "creating virtual environment $VENV"
  "$PY_HOST" -m venv "$VENV"
  "$PY" -m pip install -q -U pip
fi
# pip's extra-index lines on this machine kind print a warning per package: keep the log readable
pip_install() {
  "$PY" -m pip install -q "$@" 2> >(grep -v -e 'is neither a file nor a directory' -e '^\s*!!\s*$' >&2)
}
PIP=(pip_install)

have() {  # have DIST VERSION -> true when installed at that version
  "$PY" - "$1" "$2" <<'PYEOF'
import sys
from importlib import metadata
try:
    v = metadata.version(sys.argv[1])
except metadata.PackageNotFoundError:
    sys.exit(1)
sys.exit(0 if v.split('+')[0] == sys.argv[2] else 1)
PYEOF
}

if ! have torch "$TORCH_VER" || ! have torchvision "$TORCHVISION_VER"; then
  say "installing torch $TORCH_VER and torchvision $TORCHVISION_VER"
  "${PIP[@]}" "torch==$TORCH_VER" "torchvision==$TORCHVISION_VER"
fi
"${PIP[@]}" "setuptools<70" wheel ninja numpy

torch_tag="$("$PY" -c 'import torch,sys; print(torch.__version__.replace("+","_"), "py%d%d" % sys.version_info[:2], sep="-")')"
wheel_dir="$CACHE/mmcv-$MMCV_VER-torch-$torch_tag"
if ! have mmcv "$MMCV_VER" || ! check_ops 2>/dev/null; then
  whl="$(ls "$wheel_dir"/mmcv-*.whl 2>/dev/null | head -n1 || true)"
  if [ -z "$whl" ]; then
    say "building mmcv $MMCV_VER with its ops from source against torch $torch_tag (about 9 minutes on 2 cores)"
    work="$(mktemp -d)"
    "$PY" -m pip download -q --no-deps --no-binary :all: --no-build-isolation "mmcv==$MMCV_VER" -d "$work"
    tar -xzf "$work"/mmcv-"$MMCV_VER".tar.gz -C "$work"
    src="$work/mmcv-$MMCV_VER"
    # torch >= 2.14's headers require C++20; mmcv 2.1.0 hard-codes -std=c++17.
    if "$PY" -c 'import torch,sys; v=tuple(int(x) for x in torch.__version__.split("+")[0].split(".")[:2]); sys.exit(0 if v>=(2,14) else 1)'; then
      sed -i 's/-std=c++17/-std=c++20/g' "$src/setup.py"
    fi
    mkdir -p "$wheel_dir"
    (cd "$src" && MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
      "$PY" -m pip wheel -q --no-deps --no-build-isolation --no-cache-dir -w "$wheel_dir" .)
    rm -rf "$work"
    whl="$(ls "$wheel_dir"/mmcv-*.whl | head -n1)"
  fi
  say "installing $whl"
  "${PIP[@]}" --force-reinstall --no-deps "$whl"
  "${PIP[@]}" addict mmengine==0.10.7 opencv-python packaging pyyaml yapf
fi
check_ops || die "mmcv's compiled ops do not load in $VENV (see the error above). Remove $wheel_dir and run again to rebuild."

say "installing mmengine, mmdet, mmsegmentation, mmpretrain and test tools"
"${PIP[@]}" -r "$ROOT/requirements/runtime.txt" -r "$ROOT/requirements/tests.txt"
# cocodataset/panopticapi, needed by mmdet's panoptic loading and metric, is on PyPI only as panopticapi-lite,
# whose metadata pins numpy<2; its modules use only numpy, PIL and pycocotools, so install it without deps.
"${PIP[@]}" --no-deps "panopticapi-lite==0.2.0"
# openmim (tests/test_tools/test_mim.py) requires opendatalab -> openxlab, which pins setuptools~=60.2, requests,
# tqdm, rich, filelock and packaging to old versions; mim itself never imports them, so install it without deps
# (its other dependencies are in requirements/tests.txt).
"${PIP[@]}" --no-deps "openmim==0.3.9"
"${PIP[@]}" --no-deps --no-build-isolation -e "$ROOT"
check_ops || die "mmcv's compiled ops stopped loading after installing the OpenMMLab packages"

rm -f "$VENV"/.mmext-stack-*
touch "$STAMP"
say "environment ready in $(( $(date +%s) - start )) s: $VENV"
