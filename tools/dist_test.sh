#!/usr/bin/env bash
# Distributed testing with torchrun.
#
# Usage: tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py options...]
#   GPUS         processes per node (one per GPU; without a GPU each process
#                tests on the CPU with the gloo backend)
# Environment (optional):
#   NNODES       number of nodes (default 1)
#   NODE_RANK    rank of this node (default 0)
#   PORT         rendezvous port on the master node (default 29500)
#   MASTER_ADDR  address of the master node (default 127.0.0.1)
#   PYTHON       python interpreter (default python)
set -e

if [ $# -lt 3 ]; then
    echo "Usage: $0 CONFIG CHECKPOINT GPUS [test.py options...]" >&2
    exit 2
fi

CONFIG=$1
CHECKPOINT=$2
GPUS=$3
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
PYTHON=${PYTHON:-python}
TOOLS_DIR=$(cd "$(dirname "$0")" && pwd)

PYTHONPATH="$TOOLS_DIR/..${PYTHONPATH:+:$PYTHONPATH}" \
"$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --master_port="$PORT" \
    --nproc_per_node="$GPUS" \
    "$TOOLS_DIR/test.py" \
    "$CONFIG" \
    "$CHECKPOINT" \
    --launcher pytorch "${@:4}"
