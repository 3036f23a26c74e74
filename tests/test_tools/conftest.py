"""Fixtures of the command-line tool tests (see tools_testing.py)."""
import pytest

from tests.test_tools.tools_testing import TOOLS, run_tool


@pytest.fixture(scope='session')
def trained_work_dir(tiny_config, tmp_path_factory):
    """One uninterrupted three-epoch run of tools/train.py, shared by the
    tests that need a trained checkpoint."""
    work_dir = tmp_path_factory.mktemp('trained')
    proc = run_tool([TOOLS / 'train.py', tiny_config, '--work-dir', work_dir])
    return dict(work_dir=work_dir, output=proc.stdout + proc.stderr)
