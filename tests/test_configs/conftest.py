"""Fixtures of the config and model-index tests."""
import pytest

from mmsplitmix.analysis import count_params, get_complexity
from .configs_testing import (PAPER_CONFIGS, build_model, config_input_shape,
                              depth_rule_flops, head_flops, load_config,
                              without_class_count)

#: Networks deeper than this (the ImageNet ones) are counted by
#: depth_rule_flops.
DEEPEST_COUNTED = 8


@pytest.fixture(scope='session')
def recounted():
    """get_complexity of every paper config's model.

    Parameters are counted on every model, FLOPs with two shortcuts that
    test_model_index.py checks against full counts: configs that differ in
    the number of classes alone (CIFAR-10 and CIFAR-100, Flowers102 and
    Food101) share one count of their network, corrected by the FLOPs of
    the head's linear layer; the deep ImageNet networks are counted one
    and two blocks deep (:func:`depth_rule_flops`).
    """
    counts, networks = {}, {}
    for path in PAPER_CONFIGS:
        cfg = load_config(path)
        model = build_model(cfg)
        key = without_class_count(cfg), config_input_shape(cfg)
        if key not in networks:
            arch = cfg.model.backbone.get('arch')
            if isinstance(arch, dict) and \
                    arch.get('depth', 0) > DEEPEST_COUNTED:
                flops = depth_rule_flops(cfg)
            else:
                flops = get_complexity(model, key[1])['flops']
            networks[key] = flops - head_flops(cfg)
        counts[path.stem] = dict(
            flops=networks[key] + head_flops(cfg), params=count_params(model))
    return counts
