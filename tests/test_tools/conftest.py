"""Fixtures for the command-line tool tests (see tools_testing.py)."""
import pytest

from tests.test_tools.tools_testing import (TINY_CONFIG, TOOLS,
                                            make_image_folders, run_tool)


@pytest.fixture(scope='session')
def tiny_data(tmp_path_factory):
    root = tmp_path_factory.mktemp('tiny_images')
    make_image_folders(root)
    return root


@pytest.fixture(scope='session')
def tiny_config(tiny_data, tmp_path_factory):
    path = tmp_path_factory.mktemp('configs') / 'tiny_splitmixer.py'
    path.write_text(TINY_CONFIG.format(root=str(tiny_data)))
    return path


@pytest.fixture(scope='session')
def trained_work_dir(tiny_config, tmp_path_factory):
    """One uninterrupted three-epoch run, shared by the tests that need a
    trained checkpoint."""
    work_dir = tmp_path_factory.mktemp('trained')
    proc = run_tool([TOOLS / 'train.py', tiny_config, '--work-dir', work_dir])
    return dict(work_dir=work_dir, output=proc.stdout + proc.stderr)
