"""Helpers of the config and model-index tests: the paper configs, read and
built the way the analysis tools read and build them (with their
config_inputs.py)."""
import copy
import functools
from pathlib import Path

from mmsplitmix.analysis import get_complexity
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


def without_class_count(cfg) -> str:
    """The model config of ``cfg`` without its head's number of classes,
    as text: configs that give the same text differ in the head's linear
    layer alone."""
    model = copy.deepcopy(cfg.model.to_dict())
    model['head'].pop('num_classes')
    return repr(model)


def head_flops(cfg) -> int:
    """FLOPs of the linear layer of a ``LinearClsHead`` on one image, as
    mmengine counts them: one multiply-add per weight."""
    head = cfg.model.head
    assert head.type == 'LinearClsHead', head.type
    return head.in_channels * head.num_classes


def with_depth(cfg, depth: int):
    """A copy of ``cfg`` whose SplitMixer backbone has ``depth`` blocks."""
    cfg = copy.deepcopy(cfg)
    cfg.model.backbone.arch.depth = depth
    return cfg


def depth_rule_flops(cfg) -> int:
    """FLOPs of a setting-I SplitMixer config, counted on its network one
    and two blocks deep: every block of setting I costs the same (even
    blocks mix the first channels, odd blocks as many last ones), so the
    count grows by the same amount with each block."""
    backbone = cfg.model.backbone
    assert backbone.type == 'SplitMixer' and backbone.mixer_setting == 'I'
    shape = config_input_shape(cfg)
    one, two = [
        get_complexity(build_model(with_depth(cfg, depth)), shape)['flops']
        for depth in (1, 2)
    ]
    return one + (backbone.arch.depth - 1) * (two - one)
