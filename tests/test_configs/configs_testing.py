"""Helpers of the config and model-index tests: the paper configs, read and
built the way the analysis tools read and build them (with their
config_inputs.py)."""
import functools
from pathlib import Path

from tests.test_tools.tools_testing import load_tool

config_inputs = load_tool('analysis_tools/config_inputs.py')

REPO = Path(__file__).resolve().parents[2]
FAMILIES = ('convmixer', 'mlp_mixer', 'splitmixer')
PAPER_CONFIGS = sorted(
    path for family in FAMILIES
    for path in (REPO / 'configs' / family).glob('*.py'))
build_model = config_inputs.build_model_from_config
config_input_shape = config_inputs.input_shape_for


@functools.lru_cache(maxsize=None)
def load_config(path):
    """The config at ``path``, read once per test session."""
    return config_inputs.load_config(path)
