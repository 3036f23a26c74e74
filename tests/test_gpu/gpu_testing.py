"""Helpers of the GPU tests (see conftest.py)."""
import json
import re
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
