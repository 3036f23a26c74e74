"""Shared helpers for the config and model-index tests."""
import functools
from pathlib import Path

import pytest
from mmengine.config import Config
from mmengine.registry import DefaultScope

import mmsplitmix  # noqa: F401
from mmsplitmix.analysis import get_complexity

REPO = Path(__file__).resolve().parents[2]
FAMILIES = ('convmixer', 'mlp_mixer', 'splitmixer')
PAPER_CONFIGS = sorted(
    path for family in FAMILIES for path in (REPO / 'configs' /
                                             family).glob('*.py'))


@functools.lru_cache(maxsize=None)
def load_config(path) -> Config:
    return Config.fromfile(str(path))


def config_input_shape(cfg: Config):
    """(C, H, W) the config's test pipeline feeds the model."""
    for transform in reversed(cfg.test_dataloader.dataset.pipeline):
        size = None
        if transform['type'] == 'CenterCrop':
            size = transform['crop_size']
        elif transform['type'] == 'Resize':
            size = transform['scale']
        if size is not None:
            if isinstance(size, int):
                return (3, size, size)
            width, height = size
            return (3, height, width)
    raise ValueError('the test pipeline sets no input size')


def build_model(cfg: Config):
    from mmpretrain.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return MODELS.build(cfg.model)


@pytest.fixture(scope='session')
def recounted():
    """get_complexity of every paper config's model, counted once."""
    counts = {}
    for path in PAPER_CONFIGS:
        cfg = load_config(path)
        counts[path.stem] = get_complexity(
            build_model(cfg), config_input_shape(cfg))
    return counts
