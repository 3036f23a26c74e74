#!/usr/bin/env bash
# Training on a slurm cluster, one task per GPU.
#
# Usage: tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [train.py options...]
# Environment: GPUS, GPUS_PER_NODE, CPUS_PER_TASK, SRUN_ARGS, PYTHON (see
# tools/slurm_launch.sh).
set -e

if [ $# -lt 4 ]; then
    echo "Usage: $0 PARTITION JOB_NAME CONFIG WORK_DIR [train.py options...]" >&2
    exit 2
fi

exec bash "$(dirname "$0")/slurm_launch.sh" "$1" "$2" train.py "$3" \
    --work-dir="$4" --launcher=slurm "${@:5}"
