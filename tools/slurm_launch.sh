#!/usr/bin/env bash
# Runs one of the tools (train.py, test.py) on a slurm cluster, one task per
# GPU; slurm_train.sh and slurm_test.sh call it.
#
# Usage: tools/slurm_launch.sh PARTITION JOB_NAME TOOL [tool arguments...]
#   (the tool arguments include `--launcher=slurm`)
# Environment (optional):
#   GPUS           total number of tasks / GPUs (default 8)
#   GPUS_PER_NODE  tasks / GPUs per node (default 8)
#   CPUS_PER_TASK  CPU cores per task (default 5)
#   SRUN_ARGS      extra arguments for srun (default none)
#   PYTHON         python interpreter (default python)
set -ex

if [ $# -lt 3 ]; then
    echo "Usage: $0 PARTITION JOB_NAME TOOL [tool arguments...]" >&2
    exit 2
fi

PARTITION=$1
JOB_NAME=$2
TOOL=$3
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
PYTHON=${PYTHON:-python}
TOOLS_DIR=$(cd "$(dirname "$0")" && pwd)

# SRUN_ARGS is split into words on purpose.
# shellcheck disable=SC2086
PYTHONPATH="$TOOLS_DIR/..${PYTHONPATH:+:$PYTHONPATH}" \
srun -p "$PARTITION" \
    --job-name="$JOB_NAME" \
    --gres=gpu:"$GPUS_PER_NODE" \
    --ntasks="$GPUS" \
    --ntasks-per-node="$GPUS_PER_NODE" \
    --cpus-per-task="$CPUS_PER_TASK" \
    --kill-on-bad-exit=1 \
    $SRUN_ARGS \
    "$PYTHON" -u "$TOOLS_DIR/$TOOL" "${@:4}"
