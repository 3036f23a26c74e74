"""Fixtures shared by the end-to-end tests: tiny image folders and a tiny
SplitMixer config with this project's runtime (see
tests/test_tools/tools_testing.py)."""
import os

import pytest
import torch

from tests.test_tools.tools_testing import make_image_folders, tiny_config_text


def pytest_configure(config):
    """Under pytest-xdist (pytest.ini: a worker per CPU), each worker and the
    tools it runs compute with one thread: thread pools sized for every
    core, several on the same cores, make each step wait on the others."""
    if os.environ.get('PYTEST_XDIST_WORKER'):
        os.environ['OMP_NUM_THREADS'] = '1'
        torch.set_num_threads(1)


def pytest_collection_modifyitems(items):
    """The slow end-to-end tests first: pytest-xdist's workers then share
    the many short tests at the end instead of waiting on one long test."""
    items.sort(key=lambda item: item.get_closest_marker('slow') is None)


@pytest.fixture(scope='session')
def tiny_data(tmp_path_factory):
    root = tmp_path_factory.mktemp('tiny_images')
    make_image_folders(root)
    return root


@pytest.fixture(scope='session')
def tiny_config(tiny_data, tmp_path_factory):
    path = tmp_path_factory.mktemp('configs') / 'tiny_splitmixer.py'
    path.write_text(tiny_config_text(tiny_data))
    return path
