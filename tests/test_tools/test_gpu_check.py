"""tools/gpu_check.sh on a machine without a GPU: it refuses to run, and
(with a stand-in interpreter) it runs every step in order, whatever fails,
and sums them up."""
import json
import os
import subprocess
import sys

import pytest
import torch

from tests.test_tools.tools_testing import REPO_ROOT

SCRIPT = REPO_ROOT / 'tools' / 'gpu_check.sh'


def run_check(args, env=None):
    return subprocess.run(
        ['bash', SCRIPT] + [str(a) for a in args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env or dict(os.environ))


@pytest.mark.skipif(
    torch.cuda.is_available(), reason='checks the refusal without a GPU')
def test_refuses_without_cuda(tmp_path):
    out = tmp_path / 'out'
    env = dict(os.environ, PYTHON=sys.executable)
    proc = run_check([out], env=env)
    assert proc.returncode == 2
    assert 'no CUDA GPU is visible to PyTorch' in proc.stderr + proc.stdout
    environment = json.loads((out / 'environment.json').read_text())
    assert environment['cuda_available'] is False
    assert environment['torch'] == torch.__version__
    assert 'this machine cannot run the check' in (
        out / 'gpu_check.log').read_text()
    assert not (out / 'gpu_tests.xml').exists()


def test_bad_arguments(tmp_path):
    a_file = tmp_path / 'file'
    a_file.write_text('')
    proc = run_check([a_file])
    assert proc.returncode == 2
    assert f"OUT_DIR '{a_file}' exists and is not a folder" in proc.stderr
    proc = run_check(['a', 'b'])
    assert proc.returncode == 2
    assert 'Usage: bash tools/gpu_check.sh [OUT_DIR]' in proc.stderr


@pytest.fixture
def fake_python(tmp_path):
    """A PYTHON that passes the environment check, records every other
    command and fails the one whose arguments contain $FAIL_ON."""
    calls = tmp_path / 'calls.txt'
    stub = tmp_path / 'fake_python'
    stub.write_text(f'''#!/usr/bin/env bash
if [ "$1" = - ]; then
    cat > /dev/null
    echo '{{"stub": true}}' > "$2"
    exit 0
fi
echo "$*" >> {calls}
echo "running $*"
if [ -n "${{FAIL_ON:-}}" ] && [[ "$*" == *"$FAIL_ON"* ]]; then
    exit 3
fi
''')
    stub.chmod(0o755)
    return dict(os.environ, PYTHON=str(stub)), calls


def test_runs_every_step_and_sums_up(fake_python, tmp_path):
    env, calls = fake_python
    out = tmp_path / 'out'
    proc = run_check([out], env=dict(env, FAIL_ON='benchmark_amp.json'))
    assert proc.returncode == 1
    assert calls.read_text().splitlines() == [
        f'-m pytest -o addopts= tests/test_gpu -v -rs -p no:cacheprovider '
        f'--junitxml={out}/gpu_tests.xml',
        f'tools/analysis_tools/benchmark.py --paper --device cuda --modes '
        f'eager channels_last --out {out}/benchmark_fp32.json',
        f'tools/analysis_tools/benchmark.py --paper --device cuda --amp '
        f'--modes eager channels_last --out {out}/benchmark_amp.json',
        f'tools/analysis_tools/train_throughput.py --amp --out '
        f'{out}/train_throughput.json',
    ]
    log = (out / 'gpu_check.log').read_text()
    assert 'running tools/analysis_tools/train_throughput.py' in log
    summary = log[log.index('== summary'):].splitlines()[1:]
    assert [line.split(' (')[0] for line in summary] == [
        'GPU tests: ok', 'benchmark fp32: ok', 'benchmark AMP: FAILED',
        'training throughput: ok'
    ]
    assert 'exit status 3' in summary[2]
    assert json.loads((out / 'environment.json').read_text()) == {'stub': True}

    calls.unlink()
    proc = run_check([out], env=env)
    assert proc.returncode == 0, proc.stdout
    assert len(calls.read_text().splitlines()) == 4

    # Other benchmark modes
    calls.unlink()
    proc = run_check([out],
                     env=dict(
                         env,
                         GPU_CHECK_STEPS='benchmark-amp',
                         GPU_CHECK_MODES='compile channels_last+compile'))
    assert proc.returncode == 0, proc.stdout
    assert calls.read_text().splitlines() == [
        f'tools/analysis_tools/benchmark.py --paper --device cuda --amp '
        f'--modes compile channels_last+compile --out {out}/benchmark_amp.json'
    ]

    # The training throughput with speed flags
    calls.unlink()
    proc = run_check(
        [out],
        env=dict(
            env,
            GPU_CHECK_STEPS='throughput',
            GPU_CHECK_THROUGHPUT_FLAGS='--channels-last --compile'))
    assert proc.returncode == 0, proc.stdout
    assert calls.read_text().splitlines() == [
        'tools/analysis_tools/train_throughput.py --amp --channels-last '
        f'--compile --out {out}/train_throughput.json'
    ]

    # A chosen subset, in the usual order.
    calls.unlink()
    proc = run_check([out],
                     env=dict(
                         env, GPU_CHECK_STEPS='throughput,benchmark-fp32'))
    assert proc.returncode == 0, proc.stdout
    assert [line.split()[0] for line in calls.read_text().splitlines()] == [
        'tools/analysis_tools/benchmark.py',
        'tools/analysis_tools/train_throughput.py'
    ]


def test_unknown_step_is_refused(fake_python, tmp_path):
    env, calls = fake_python
    proc = run_check([tmp_path / 'out'],
                     env=dict(env, GPU_CHECK_STEPS='tests,speed'))
    assert proc.returncode == 2
    assert "GPU_CHECK_STEPS: unknown step 'speed'" in proc.stderr
    assert not calls.exists()
    assert not (tmp_path / 'out').exists()
