#!/usr/bin/env bash
# Distributed training with torchrun.
#
# Usage: tools/dist_train.sh CONFIG GPUS [train.py options...]
#   GPUS  processes per node (one per GPU; without a GPU each process trains
#         on the CPU with the gloo backend)
# Environment: NNODES, NODE_RANK, PORT, MASTER_ADDR, PYTHON (see
# tools/dist_launch.sh).
set -e

if [ $# -lt 2 ]; then
    echo "Usage: $0 CONFIG GPUS [train.py options...]" >&2
    exit 2
fi

exec bash "$(dirname "$0")/dist_launch.sh" "$2" train.py "$1" --launcher pytorch "${@:3}"
