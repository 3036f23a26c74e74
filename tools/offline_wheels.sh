#!/usr/bin/env bash
# Wheels of mmengine, mmcv-lite, mmpretrain and their dependencies for a
# machine without network access that already has PyTorch and torchvision
# (for example an air-gapped GPU server).
#
# On a machine with network access:
#   bash tools/offline_wheels.sh download DIR [--with-binary]
#       [--python-version X.Y] [--platform TAG]...
# Copy DIR (and this repository) to the offline machine, then there:
#   eval "$(bash tools/offline_wheels.sh install DIR [--target SITE])"
#   bash tools/gpu_check.sh OUT_DIR
# Other subcommands:
#   bash tools/offline_wheels.sh list [--with-binary]   # the pinned set
#
# download  fetches wheels only (no source builds), without dependency
#           resolution, for the target's Python version (default 3.12) and
#           platforms (default: the manylinux x86_64 tags). By default only
#           pure-Python wheels: the three OpenMMLab packages and the pure
#           dependencies a machine with torch, torchvision, numpy and Pillow
#           lacks. --with-binary adds the compiled dependencies (PyYAML,
#           matplotlib and its stack, OpenCV headless) for a target that has
#           none of them.
# install   installs every wheel of DIR whose distribution the target's
#           Python does not have yet into SITE (default
#           ${TMPDIR:-/tmp}/mmsplitmix-site) with pip, offline and without
#           dependency resolution, checks that mmengine, mmcv and mmpretrain
#           import, and prints the `export PYTHONPATH=...` line to use (the
#           only thing it writes to stdout, so that `eval "$(...)"` works).
#
# Environment: PYTHON, the interpreter of the target (default python3).
set -euo pipefail

PYTHON=${PYTHON:-python3}
DEFAULT_PYTHON_VERSION=3.12
DEFAULT_PLATFORMS=(manylinux_2_28_x86_64 manylinux_2_27_x86_64
    manylinux_2_17_x86_64 manylinux2014_x86_64 manylinux1_x86_64)

# The pure-Python set, pinned to versions tested together. A machine with
# torch, torchvision, numpy and Pillow has none of these by default.
PURE_WHEELS=(
    mmengine==0.10.7
    mmcv-lite==2.2.0
    mmpretrain==1.2.0
    addict==2.4.0
    termcolor==3.3.0
    yapf==0.43.0
    platformdirs==4.14.5
    rich==15.0.0
    markdown-it-py==4.3.0
    mdurl==0.1.2
    pygments==2.20.0
    packaging==26.2
    einops==0.8.2
    importlib-metadata==10.2.0
    zipp==4.1.2
    lazy-importer==0.1.0
    mat4py==0.6.0
    modelindex==0.0.2
    model-index==0.1.11
    markdown==3.11.3
    ordered-set==4.1.0
    click==8.4.0
)
# Compiled dependencies (and the pure ones only they need), for a target
# that lacks them. OpenCV is the headless build, which needs no GUI
# libraries; mmengine and mmcv only import cv2.
BINARY_WHEELS=(
    pyyaml==6.0.3
    matplotlib==3.11.2
    contourpy==1.3.3
    fonttools==4.68.0
    kiwisolver==1.5.1
    cycler==0.12.1
    pyparsing==3.3.2
    python-dateutil==2.9.0.post0
    six==1.17.0
    opencv-python-headless==5.0.0.93
)

usage() {
    sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
}

die() {
    echo "offline_wheels.sh: $*" >&2
    exit 2
}

cmd_list() {
    local with_binary=0
    while [ $# -gt 0 ]; do
        case $1 in
            --with-binary) with_binary=1 ;;
            *) die "list: unknown option '$1' (expected --with-binary)" ;;
        esac
        shift
    done
    printf '%s\n' "${PURE_WHEELS[@]}"
    if [ $with_binary = 1 ]; then
        printf '%s\n' "${BINARY_WHEELS[@]}"
    fi
}

cmd_download() {
    local dir="" with_binary=0 python_version=$DEFAULT_PYTHON_VERSION
    local platforms=()
    while [ $# -gt 0 ]; do
        case $1 in
            --with-binary) with_binary=1 ;;
            --python-version)
                [ $# -ge 2 ] || die "download: --python-version needs a value such as 3.12"
                python_version=$2
                shift ;;
            --platform)
                [ $# -ge 2 ] || die "download: --platform needs a value such as manylinux_2_28_x86_64"
                platforms+=("$2")
                shift ;;
            -*) die "download: unknown option '$1' (expected --with-binary, --python-version X.Y, --platform TAG)" ;;
            *)
                [ -z "$dir" ] || die "download: one DIR expected, got '$dir' and '$1'"
                dir=$1 ;;
        esac
        shift
    done
    [ -n "$dir" ] || die "download: missing DIR, the folder to save the wheels in"
    [[ $python_version =~ ^3\.[0-9]+$ ]] ||
        die "download: --python-version must look like 3.12, got '$python_version'"
    if [ -e "$dir" ] && [ ! -d "$dir" ]; then
        die "download: DIR '$dir' exists and is not a folder"
    fi
    [ ${#platforms[@]} -gt 0 ] || platforms=("${DEFAULT_PLATFORMS[@]}")
    local wheels=("${PURE_WHEELS[@]}")
    if [ $with_binary = 1 ]; then
        wheels+=("${BINARY_WHEELS[@]}")
    fi
    local platform_args=()
    local tag
    for tag in "${platforms[@]}"; do
        platform_args+=(--platform "$tag")
    done
    mkdir -p "$dir"
    echo "downloading ${#wheels[@]} wheels for CPython $python_version into $dir" >&2
    "$PYTHON" -m pip download --no-deps --only-binary=:all: \
        --python-version "$python_version" --implementation cp \
        "${platform_args[@]}" -d "$dir" "${wheels[@]}"
    echo "done: copy $dir to the offline machine and run there:" >&2
    echo "  eval \"\$(bash tools/offline_wheels.sh install $dir)\"" >&2
}

cmd_install() {
    local dir="" target=${TMPDIR:-/tmp}/mmsplitmix-site
    while [ $# -gt 0 ]; do
        case $1 in
            --target)
                [ $# -ge 2 ] || die "install: --target needs a folder"
                target=$2
                shift ;;
            -*) die "install: unknown option '$1' (expected --target SITE)" ;;
            *)
                [ -z "$dir" ] || die "install: one DIR expected, got '$dir' and '$1'"
                dir=$1 ;;
        esac
        shift
    done
    [ -n "$dir" ] || die "install: missing DIR, the folder of the downloaded wheels"
    [ -d "$dir" ] || die "install: wheel folder '$dir' not found"
    if [ -e "$target" ] && [ ! -d "$target" ]; then
        die "install: --target '$target' exists and is not a folder"
    fi
    # Picks the wheels to install; names what is wrong with the folder.
    local selected
    selected=$("$PYTHON" - "$dir" <<'EOF'
import importlib.metadata
import re
import sys
from pathlib import Path

folder = Path(sys.argv[1])
# Other distributions that provide the same import name.
ALIASES = {
    'opencv-python-headless': ('opencv-python', 'opencv-contrib-python',
                               'opencv-contrib-python-headless'),
}


def canonical(name):
    return re.sub(r'[-_.]+', '-', name).lower()


wheels = sorted(folder.glob('*.whl'))
if not wheels:
    sys.exit(f'install: no wheels (*.whl) in {folder}')
by_name = {}
for wheel in wheels:
    parts = wheel.name[:-len('.whl')].split('-')
    if len(parts) < 5:
        sys.exit(f'install: {wheel} is not a wheel file name '
                 '(NAME-VERSION-PYTHON-ABI-PLATFORM.whl)')
    by_name.setdefault(canonical(parts[0]), []).append((parts[1], wheel))
clashes = {name: sorted(v for v, _ in found)
           for name, found in by_name.items() if len(found) > 1}
if clashes:
    listed = '; '.join(f'{name}: {", ".join(versions)}'
                       for name, versions in sorted(clashes.items()))
    sys.exit(f'install: {folder} holds several versions of one package '
             f'({listed}); keep one of each')
kept = []
for name, [(version, wheel)] in sorted(by_name.items()):
    present = None
    for candidate in (name, ) + ALIASES.get(name, ()):
        try:
            present = (candidate, importlib.metadata.version(candidate))
            break
        except importlib.metadata.PackageNotFoundError:
            continue
    if present:
        kept.append(f'{present[0]} {present[1]}')
    else:
        print(wheel)
if kept:
    print(f'already installed, kept as they are: {", ".join(kept)}',
          file=sys.stderr)
EOF
)
    if [ -n "$selected" ]; then
        mkdir -p "$target"
        local to_install=()
        mapfile -t to_install <<<"$selected"
        echo "installing ${#to_install[@]} wheels into $target" >&2
        "$PYTHON" -m pip install -q --no-index --no-deps --no-compile \
            --no-cache-dir --upgrade --target "$target" "${to_install[@]}" >&2
    else
        echo "every wheel of $dir is installed already" >&2
    fi
    local target_abs
    target_abs=$(mkdir -p "$target" && cd "$target" && pwd)
    local pythonpath="$target_abs${PYTHONPATH:+:$PYTHONPATH}"
    if ! PYTHONPATH="$pythonpath" "$PYTHON" -c \
            'import mmengine, mmcv, mmpretrain' >&2; then
        echo "offline_wheels.sh: install: mmengine, mmcv and mmpretrain do not all import with PYTHONPATH=$pythonpath (see the error above); a missing compiled dependency needs 'download --with-binary'" >&2
        exit 1
    fi
    echo "mmengine, mmcv and mmpretrain import; use them with:" >&2
    printf 'export PYTHONPATH=%q\n' "$pythonpath"
}

if [ $# -lt 1 ]; then
    usage
    exit 2
fi
subcommand=$1
shift
case $subcommand in
    download) cmd_download "$@" ;;
    install) cmd_install "$@" ;;
    list) cmd_list "$@" ;;
    -h|--help|help) usage ;;
    *) echo "offline_wheels.sh: unknown subcommand '$subcommand' (expected download, install or list)" >&2
       usage
       exit 2 ;;
esac
