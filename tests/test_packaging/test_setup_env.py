"""mmsplitmix in mmengine: package lookup without pkg_resources, the
``mmsplitmix::`` prefix and scope, ``register_all_modules``."""
import importlib
import importlib.util
import os
import os.path as osp
import subprocess
import sys
import warnings
from pathlib import Path

import mmpretrain
import pytest
from mmengine.config import Config
from mmengine.config import utils as config_utils
from mmengine.registry import MODELS, DefaultScope

import mmsplitmix
from mmsplitmix import registry as mmsplitmix_registry
from mmsplitmix.utils import setup_env
from mmsplitmix.utils.setup_env import (get_installed_path, is_installed,
                                        package2module, register_all_modules)

REPO_ROOT = Path(__file__).resolve().parents[2]
TINY_CLASSIFIER = dict(
    type='ImageClassifier',
    backbone=dict(
        type='SplitMixer',
        arch=dict(embed_dims=16, depth=1, patch_size=4, kernel_size=3)),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=3, in_channels=16))


def test_lookup_finds_installed_packages():
    assert is_installed('mmpretrain')
    assert get_installed_path('mmpretrain') == osp.dirname(mmpretrain.__file__)
    # A distribution whose module has another name.
    assert package2module('mmcv-lite') == 'mmcv'
    import mmcv
    assert get_installed_path('mmcv-lite') == osp.dirname(mmcv.__file__)


def test_lookup_finds_the_imported_copy():
    # A checkout on sys.path (or an editable install) is found where it is,
    # not where its distribution metadata lies.
    assert get_installed_path('mmsplitmix') == osp.dirname(mmsplitmix.__file__)


def test_lookup_of_missing_packages():
    assert not is_installed('no_such_package_mmsplitmix')
    with pytest.raises(
            ModuleNotFoundError,
            match='no_such_package_mmsplitmix is not installed'):
        get_installed_path('no_such_package_mmsplitmix')
    with pytest.raises(ValueError, match='not installed'):
        package2module('no_such_package_mmsplitmix')


# Run in a fresh interpreter: whether pkg_resources can be imported is fixed
# before mmsplitmix is imported.
LOOKUP_PROBE = """
import importlib.machinery, sys, types
if PKG_RESOURCES_PRESENT:
    fake = types.ModuleType('pkg_resources')
    fake.__spec__ = importlib.machinery.ModuleSpec('pkg_resources', None)
    sys.modules['pkg_resources'] = fake
else:
    sys.modules['pkg_resources'] = None  # as on setuptools >= 81
import mmengine.config.config, mmengine.hub.hub, mmengine.utils
from mmengine.utils import package_utils
import mmsplitmix
from mmsplitmix.utils import setup_env
holders = [(package_utils, 'is_installed'),
           (package_utils, 'get_installed_path'),
           (package_utils, 'package2module'),
           (mmengine.utils, 'is_installed'),
           (mmengine.utils, 'get_installed_path'),
           (mmengine.config.config, 'is_installed'),
           (mmengine.config.config, 'get_installed_path'),
           (mmengine.hub.hub, 'get_installed_path')]
print(sorted({getattr(module, name) is getattr(setup_env, name)
              for module, name in holders}))
"""


@pytest.mark.parametrize('pkg_resources_present', [True, False])
def test_mmengine_lookup_is_replaced_only_without_pkg_resources(
        pkg_resources_present):
    proc = subprocess.run([
        sys.executable, '-c',
        LOOKUP_PROBE.replace('PKG_RESOURCES_PRESENT',
                             str(pkg_resources_present))
    ],
                          cwd=REPO_ROOT,
                          capture_output=True,
                          text=True,
                          check=True)
    replaced = proc.stdout.strip()
    assert replaced == ('[False]' if pkg_resources_present else '[True]')


def test_a_changed_mmengine_is_reported(monkeypatch):
    import mmengine.hub.hub
    monkeypatch.delattr(mmengine.hub.hub, 'get_installed_path')
    with pytest.raises(
            RuntimeError,
            match='mmengine.hub.hub.get_installed_path not found'):
        setup_env.use_importlib_package_lookup()


def test_package_prefix_is_registered():
    assert config_utils.MODULE2PACKAGE['mmsplitmix'] == 'mmsplitmix'
    assert config_utils._get_package_and_cfg_path(
        'mmsplitmix::splitmixer/x.py') == ('mmsplitmix', 'splitmixer/x.py')


def test_mmpretrain_base_without_pkg_resources(tmp_path, monkeypatch):
    # As on setuptools >= 81: importing pkg_resources fails.
    monkeypatch.setitem(sys.modules, 'pkg_resources', None)
    config = tmp_path / 'user.py'
    config.write_text("_base_ = ['mmpretrain::_base_/default_runtime.py']\n"
                      'model = dict(type="ImageClassifier")\n')
    cfg = Config.fromfile(str(config))
    assert cfg.default_scope == 'mmpretrain'
    assert cfg.default_hooks.checkpoint.type == 'CheckpointHook'


def test_registry_nodes_cover_mmpretrains():
    ours = {name for name in mmsplitmix_registry.__all__ if name != 'SCOPE'}
    assert ours == set(mmpretrain.registry.__all__) | {'TOKENIZER'}
    for name in ours:
        node = getattr(mmsplitmix_registry, name)
        assert node.scope == 'mmsplitmix'
        assert node.parent is getattr(mmpretrain.registry, name)


def test_building_in_the_mmsplitmix_scope():
    # What a dict inherited from an `mmsplitmix::` base carries.
    model = MODELS.build(dict(TINY_CLASSIFIER, _scope_='mmsplitmix'))
    assert type(model).__name__ == 'ImageClassifier'
    assert type(model.backbone).__name__ == 'SplitMixer'


def test_register_all_modules_sets_the_scope():
    name = 'test-register-all-modules'
    before = dict(DefaultScope._instance_dict)
    try:
        DefaultScope._instance_dict.clear()
        register_all_modules()
        assert DefaultScope.get_current_instance().scope_name == 'mmsplitmix'
        DefaultScope.get_instance(name, scope_name='mmpretrain')
        with pytest.warns(UserWarning, match='makes it "mmsplitmix"'):
            register_all_modules()
        assert DefaultScope.get_current_instance().scope_name == 'mmsplitmix'
        with warnings.catch_warnings():
            warnings.simplefilter('error')
            DefaultScope.get_instance(name + '2', scope_name='mmpretrain')
            register_all_modules(init_default_scope=False)
        assert DefaultScope.get_current_instance().scope_name == 'mmpretrain'
    finally:
        DefaultScope._instance_dict.clear()
        DefaultScope._instance_dict.update(before)


def test_hub_calls_register_all_modules():
    # mmengine.hub.get_model imports `<package>.utils` and calls it.
    utils = importlib.import_module('mmsplitmix.utils')
    assert utils.register_all_modules is register_all_modules


def python_warnings(code):
    """stderr of ``python -W default -c CODE`` run from the checkout (the
    checkout first on ``PYTHONPATH``, then what the caller has there, such
    as packages installed with tools/offline_wheels.sh)."""
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONWARNINGS'}
    env['PYTHONPATH'] = os.pathsep.join(
        [str(REPO_ROOT)] + [p for p in [env.get('PYTHONPATH')] if p])
    proc = subprocess.run([sys.executable, '-W', 'default', '-c', code],
                          cwd=REPO_ROOT,
                          capture_output=True,
                          text=True,
                          timeout=300,
                          env=env)
    assert proc.returncode == 0, proc.stderr
    return proc.stderr


def test_import_hides_only_the_mmcv_lite_warning():
    if importlib.util.find_spec('mmcv._ext') is not None:
        pytest.skip('a full mmcv has the op and does not warn')
    # Without mmsplitmix, mmcv-lite warns when mmpretrain's layers load.
    assert 'MultiScaleDeformableAttention' in python_warnings(
        'import mmcv.cnn.bricks.transformer')
    stderr = python_warnings(
        'import warnings\n'
        'import mmsplitmix\n'
        'warnings.warn("another warning of mmcv", UserWarning)\n')
    assert 'MultiScaleDeformableAttention' not in stderr
    assert 'another warning of mmcv' in stderr
