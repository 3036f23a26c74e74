"""The code passes the lint settings of setup.cfg: flake8, isort and yapf,
the checks OpenMMLab projects run in CI. A linter that is not installed
(they come with ``pip install -e ".[tests]"``) skips its test."""
import subprocess
import sys

import pytest

from tests.test_tools.tools_testing import REPO_ROOT

LINTED = ['mmsplitmix', 'tools', 'tests', 'configs', 'setup.py']


def run_linter(module, *args):
    pytest.importorskip(module, reason=f'{module} is not installed')
    proc = subprocess.run([sys.executable, '-m', module, *args],
                          cwd=REPO_ROOT,
                          capture_output=True,
                          text=True,
                          timeout=300)
    return proc.returncode, (proc.stdout + proc.stderr)[-6000:]


def test_flake8():
    status, output = run_linter('flake8', *LINTED)
    assert status == 0, output


def test_isort():
    status, output = run_linter('isort', '--check-only', '--diff', *LINTED)
    assert status == 0, output


def test_yapf():
    status, output = run_linter('yapf', '--diff', '--recursive', '--parallel',
                                '--exclude', 'mmsplitmix/.mim/**', *LINTED)
    assert status == 0, output
