"""Fixtures of the config and model-index tests."""
import pytest

from mmsplitmix.analysis import get_complexity
from .configs_testing import (PAPER_CONFIGS, build_model, config_input_shape,
                              load_config)


@pytest.fixture(scope='session')
def recounted():
    """get_complexity of every paper config's model, counted once."""
    counts = {}
    for path in PAPER_CONFIGS:
        cfg = load_config(path)
        counts[path.stem] = get_complexity(
            build_model(cfg), config_input_shape(cfg))
    return counts
