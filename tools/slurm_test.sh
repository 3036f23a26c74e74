#!/usr/bin/env bash
# Testing on a slurm cluster, one task per GPU.
#
# Usage: tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [test.py options...]
# Environment: GPUS, GPUS_PER_NODE, CPUS_PER_TASK, SRUN_ARGS, PYTHON (see
# tools/slurm_launch.sh).
set -e

if [ $# -lt 4 ]; then
    echo "Usage: $0 PARTITION JOB_NAME CONFIG CHECKPOINT [test.py options...]" >&2
    exit 2
fi

exec bash "$(dirname "$0")/slurm_launch.sh" "$1" "$2" test.py "$3" "$4" \
    --launcher=slurm "${@:5}"
