#!/usr/bin/env bash
# Check a GPU machine: does mmsplitmix train, resume and test on CUDA, and
# how fast is it?
#
# Usage: bash tools/gpu_check.sh [OUT_DIR]     (default: work_dirs/gpu_check)
#
# Runs, in order, each step whatever the previous ones gave:
#   1. the GPU tests (tests/test_gpu: train.py --amp in float16 and
#      bfloat16, the paper's schedule in fp32 and with --amp, NCCL through
#      dist_train.sh, test.py, kill and --resume, CPU/CUDA agreement of
#      every channel mixer, channels-last and torch.compile);
#   2. tools/analysis_tools/benchmark.py --paper in fp32, then
#   3. with --amp (inference and training-step images/s of ConvMixer-256/8
#      and SplitMixer I-IV at 32 and 224 px);
#   4. tools/analysis_tools/train_throughput.py --amp: images/s of the
#      paper's CIFAR-10 recipe (RandAugment and mixed precision included) on
#      50,000 generated images with one dataloader worker per CPU core: the
#      whole training loop, the data pipeline alone and the model alone, and
#      the implied 100-epoch time.
# OUT_DIR receives environment.json (versions, GPU), gpu_tests.xml (JUnit),
# benchmark_fp32.json, benchmark_amp.json, train_throughput.json and
# gpu_check.log (everything printed). The exit status is 0 when every step
# passed, 1 when one failed, 2 when the machine cannot run the check.
#
# Environment: PYTHON, the interpreter with PyTorch (default python3);
# GPU_CHECK_STEPS, the steps to run, comma-separated, from tests,
# benchmark-fp32, benchmark-amp and throughput (default: all four);
# GPU_CHECK_MODES, the benchmark's modes, space-separated (default: eager
# channels_last; the compiled modes compile every model of the
# paper's set, which takes many minutes: add them for a separate run);
# GPU_CHECK_THROUGHPUT_FLAGS, more options of train_throughput.py, e.g.
# "--channels-last --compile" (default: none, the paper's recipe). On a
# machine without network access, install mmengine, mmcv-lite and
# mmpretrain first with tools/offline_wheels.sh.
set -uo pipefail

if [ $# -gt 1 ] || [[ ${1:-} == -* ]]; then
    sed -n '2,/^set -uo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
    [[ ${1:-} == -h || ${1:-} == --help ]] && exit 0
    exit 2
fi

PYTHON=${PYTHON:-python3}
read -r -a MODES <<<"${GPU_CHECK_MODES:-eager channels_last}"
read -r -a THROUGHPUT_FLAGS <<<"${GPU_CHECK_THROUGHPUT_FLAGS:-}"
ALL_STEPS=tests,benchmark-fp32,benchmark-amp,throughput
SELECTED=${GPU_CHECK_STEPS:-$ALL_STEPS}
IFS=, read -r -a selected_steps <<<"$SELECTED"
for name in "${selected_steps[@]}"; do
    if [[ ",$ALL_STEPS," != *",$name,"* ]]; then
        echo "gpu_check.sh: GPU_CHECK_STEPS: unknown step '$name' (expected some of $ALL_STEPS)" >&2
        exit 2
    fi
done
REPO_ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT_DIR=${1:-work_dirs/gpu_check}
if [ -e "$OUT_DIR" ] && [ ! -d "$OUT_DIR" ]; then
    echo "gpu_check.sh: OUT_DIR '$OUT_DIR' exists and is not a folder" >&2
    exit 2
fi
mkdir -p "$OUT_DIR" || exit 2
OUT_DIR=$(cd "$OUT_DIR" && pwd)
LOG="$OUT_DIR/gpu_check.log"
: >"$LOG"
export PYTHONPATH="$REPO_ROOT${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
cd "$REPO_ROOT" || exit 2

say() {
    echo "$*" | tee -a "$LOG"
}

say "== environment ($(date -u '+%Y-%m-%d %H:%M UTC'))"
"$PYTHON" - "$OUT_DIR/environment.json" <<'EOF' 2>&1 | tee -a "$LOG"
import json
import os
import platform
import sys

info = dict(python=platform.python_version(), machine=platform.machine())
try:
    info['cpu_cores'] = len(os.sched_getaffinity(0))
except AttributeError:
    info['cpu_cores'] = os.cpu_count()
try:
    import torch
except ImportError:
    sys.exit('gpu_check: PyTorch is not installed for ' + sys.executable)
info.update(torch=torch.__version__, cuda=torch.version.cuda,
            cudnn=torch.backends.cudnn.version(),
            cuda_available=torch.cuda.is_available())
if torch.cuda.is_available():
    info['gpus'] = [torch.cuda.get_device_name(i)
                    for i in range(torch.cuda.device_count())]
missing = []
for name in ('torchvision', 'mmengine', 'mmcv', 'mmpretrain', 'mmsplitmix'):
    try:
        info[name] = __import__(name).__version__
    except ImportError as error:
        missing.append(f'{name} ({error})')
with open(sys.argv[1], 'w') as file:
    json.dump(info, file, indent=2)
print(json.dumps(info, indent=2))
if missing:
    sys.exit('gpu_check: cannot import ' + ', '.join(missing) +
             '; install them (offline: bash tools/offline_wheels.sh)')
if not info['cuda_available']:
    sys.exit('gpu_check: no CUDA GPU is visible to PyTorch '
             f'{torch.__version__} (CUDA build: {torch.version.cuda}); '
             'this check needs one')
EOF
if [ "${PIPESTATUS[0]}" != 0 ]; then
    say "gpu_check.sh: this machine cannot run the check (see above)"
    exit 2
fi

STEPS=()
STATUSES=()
step() {
    local key=$1 name=$2
    shift 2
    [[ ",$SELECTED," == *",$key,"* ]] || return 0
    say ""
    say "== $name: $*"
    local start=$SECONDS
    "$@" 2>&1 | tee -a "$LOG"
    local status=${PIPESTATUS[0]}
    STEPS+=("$name")
    if [ "$status" = 0 ]; then
        STATUSES+=("ok ($((SECONDS - start)) s)")
    else
        STATUSES+=("FAILED (exit status $status, $((SECONDS - start)) s)")
    fi
}

# one process (-o addopts=: not pytest.ini's worker per CPU) for the one GPU
step tests "GPU tests" "$PYTHON" -m pytest -o addopts= tests/test_gpu -v -rs \
    -p no:cacheprovider --junitxml="$OUT_DIR/gpu_tests.xml"
step benchmark-fp32 "benchmark fp32" "$PYTHON" tools/analysis_tools/benchmark.py --paper \
    --device cuda --modes "${MODES[@]}" --out "$OUT_DIR/benchmark_fp32.json"
step benchmark-amp "benchmark AMP" "$PYTHON" tools/analysis_tools/benchmark.py --paper \
    --device cuda --amp --modes "${MODES[@]}" --out "$OUT_DIR/benchmark_amp.json"
step throughput "training throughput" "$PYTHON" \
    tools/analysis_tools/train_throughput.py --amp "${THROUGHPUT_FLAGS[@]}" \
    --out "$OUT_DIR/train_throughput.json"

say ""
say "== summary (results in $OUT_DIR)"
failed=0
for i in "${!STEPS[@]}"; do
    say "${STEPS[$i]}: ${STATUSES[$i]}"
    [[ ${STATUSES[$i]} == ok* ]] || failed=1
done
exit $failed
