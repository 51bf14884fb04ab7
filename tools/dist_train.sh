#!/usr/bin/env bash
# Distributed training with torchrun (PyTorch DDP through mmengine).
#   one machine:  bash tools/dist_train.sh CONFIG GPUS [train.py args...]
#   multi-node:   NNODES=2 NODE_RANK=0 MASTER_ADDR=10.0.0.1 bash tools/dist_train.sh CONFIG GPUS_PER_NODE ...
#                 (the same command on every node, each with its own NODE_RANK)
# Without CUDA the processes use the gloo backend on the CPU.
set -euo pipefail
exec bash "$(dirname "$0")/dist_launch.sh" train.py "$2" "$1" "${@:3}"
