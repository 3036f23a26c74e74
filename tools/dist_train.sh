#!/usr/bin/env bash
# Distributed training with torchrun.
#
# Usage: tools/dist_train.sh CONFIG GPUS [train.py options...]
#   GPUS         processes per node (one per GPU; without a GPU each process
#                trains on the CPU with the gloo backend)
# Environment (optional):
#   NNODES       number of nodes (default 1)
#   NODE_RANK    rank of this node (default 0)
#   PORT         rendezvous port on the master node (default 29500)
#   MASTER_ADDR  address of the master node (default 127.0.0.1)
#   PYTHON       python interpreter (default python)
set -e

if [ $# -lt 2 ]; then
    echo "Usage: $0 CONFIG GPUS [train.py options...]" >&2
    exit 2
fi

CONFIG=$1
GPUS=$2
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
    "$TOOLS_DIR/train.py" \
    "$CONFIG" \
    --launcher pytorch "${@:3}"
