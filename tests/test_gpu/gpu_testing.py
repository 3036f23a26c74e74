"""Helpers of the GPU tests (see conftest.py)."""
import json
import re
from pathlib import Path

from tests.test_tools.tools_testing import RUNTIME, run_tool, tool_env

GPU_TESTS_DIR = Path(__file__).resolve().parent


def custom_hooks_with(*hooks):
    """A config line that lists the runtime's ``custom_hooks`` (the
    guarantee hooks) and then ``hooks``: a derived config's
    ``custom_hooks`` replaces its base's list."""
    from mmengine.config import Config
    runtime = Config.fromfile(str(RUNTIME)).to_dict()['custom_hooks']
    return f'custom_hooks = {runtime + list(hooks)!r}'


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
