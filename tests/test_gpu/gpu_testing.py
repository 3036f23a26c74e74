"""Helpers of the GPU tests (see conftest.py)."""
import json
import re
import sys
from pathlib import Path

from tests.test_tools.tools_testing import run_tool, tool_env

GPU_TESTS_DIR = Path(__file__).resolve().parent


def run_gpu_tool(args, **kwargs):
    kwargs.setdefault('env', tool_env())
    kwargs.setdefault('timeout', 300)
    return run_tool(args, **kwargs)


def run_record(work_dir):
    """What record_hook.RecordRunHook wrote for the run in ``work_dir``."""
    return json.loads((Path(work_dir) / 'run_record.json').read_text())


def logged_values(text, key):
    """All logged values of ``key: <number>`` in a log text."""
    return [
        float(v)
        for v in re.findall(rf'{re.escape(key)}: ([-+0-9.eE]+|nan|inf)', text)
    ]


def train_until_paused(args, marker, log_path, env, timeout=240):
    """Run ``python ARGS`` (a training run whose config pauses with
    tests/test_tools/pause_hook.py after epoch 1), wait for ``marker`` and
    SIGKILL it. Returns the exit status."""
    import signal
    import subprocess
    import time

    with open(log_path, 'w') as log:
        proc = subprocess.Popen(
            [sys.executable] + [str(a) for a in args],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + timeout
            while not Path(marker).exists():
                if proc.poll() is not None:
                    raise AssertionError('training ended before the pause:\n' +
                                         Path(log_path).read_text()[-3000:])
                if time.monotonic() > deadline:
                    raise AssertionError(
                        'training did not reach the end of epoch 1')
                time.sleep(0.1)
            proc.send_signal(signal.SIGKILL)
            return proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
