#!/usr/bin/env bash
# Distributed testing with torchrun.
#
# Usage: tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py options...]
#   GPUS  processes per node (one per GPU; without a GPU each process tests
#         on the CPU with the gloo backend)
# Environment: NNODES, NODE_RANK, PORT, MASTER_ADDR, PYTHON (see
# tools/dist_launch.sh).
set -e

if [ $# -lt 3 ]; then
    echo "Usage: $0 CONFIG CHECKPOINT GPUS [test.py options...]" >&2
    exit 2
fi

exec bash "$(dirname "$0")/dist_launch.sh" "$3" test.py "$1" "$2" --launcher pytorch "${@:4}"
