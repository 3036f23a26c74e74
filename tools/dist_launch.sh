#!/usr/bin/env bash
# Runs one of the tools (train.py, test.py) under torchrun, one process per
# GPU; dist_train.sh and dist_test.sh call it.
#
# Usage: tools/dist_launch.sh GPUS TOOL [tool arguments...]
#   (the tool arguments include `--launcher pytorch`)
#   GPUS         processes per node (one per GPU; without a GPU each process
#                runs on the CPU with the gloo backend)
#   TOOL         the script in tools/, e.g. train.py
# Environment (optional):
#   NNODES       number of nodes (default 1)
#   NODE_RANK    rank of this node (default 0)
#   PORT         rendezvous port on the master node (default 29500)
#   MASTER_ADDR  address of the master node (default 127.0.0.1)
#   PYTHON       python interpreter (default python)
set -e

if [ $# -lt 2 ]; then
    echo "Usage: $0 GPUS TOOL [tool arguments...]" >&2
    exit 2
fi

GPUS=$1
TOOL=$2
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
    "$TOOLS_DIR/$TOOL" \
    "${@:3}"
