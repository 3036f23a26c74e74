"""``mmsplitmix::`` and ``mmpretrain::`` config paths inside
``mmsplitmix.package_configs()``, and mmengine as it was outside."""
import pytest
from mmengine.config import Config
from mmengine.config import utils as config_utils
from mmengine.hub import get_config, get_model

import mmsplitmix

USER_CONFIG = '''
_base_ = [
    'mmsplitmix::_base_/models/splitmixer-ii-256-8.py',
    'mmpretrain::_base_/schedules/cifar10_bs128.py',
]
model = dict(head=dict(num_classes=5))
'''


def test_a_user_config_inherits_ours_and_mmpretrains(tmp_path):
    path = tmp_path / 'user.py'
    path.write_text(USER_CONFIG)
    with mmsplitmix.package_configs():
        cfg = Config.fromfile(str(path))
    assert cfg.model.backbone.mixer_setting == 'II'
    assert cfg.model.head.num_classes == 5
    assert cfg.train_cfg.max_epochs == 200  # mmpretrain's schedule
    assert 'mmsplitmix' not in config_utils.MODULE2PACKAGE
    with pytest.raises(AssertionError, match='mmsplitmix'):
        Config.fromfile(str(path))  # mmengine on its own


def test_mmengine_hub_finds_our_configs_and_builds_our_models():
    name = 'mmsplitmix::splitmixer/splitmixer-iii-256-8_1xb512_cifar10.py'
    lookups = (config_utils.MODULE2PACKAGE.copy(),
               get_config.__globals__['get_installed_path'])
    with mmsplitmix.package_configs():
        assert get_config(name).model.backbone.mixer_setting == 'III'
        model = get_model(name)
    assert type(model.backbone).__name__ == 'SplitMixer'
    assert (config_utils.MODULE2PACKAGE,
            get_config.__globals__['get_installed_path']) == lookups


def test_lookups_are_restored_after_an_error():
    before = dict(config_utils.MODULE2PACKAGE)
    with pytest.raises(RuntimeError):
        with mmsplitmix.package_configs():
            raise RuntimeError
    assert config_utils.MODULE2PACKAGE == before


def test_installed_path_is_the_package_folder():
    from mmsplitmix.package_configs import get_installed_path, is_installed
    assert get_installed_path('mmsplitmix') == str(
        __import__('pathlib').Path(mmsplitmix.__file__).parent)
    assert is_installed('mmcv-lite') or is_installed('mmcv')
    assert not is_installed('no-such-package-here')


def test_a_config_inheriting_a_paper_config_trains(tiny_data, tmp_path):
    """Built in the ``mmsplitmix`` scope (mmengine's tag for what comes from
    ``mmsplitmix::`` bases), every part of the config is found."""
    from mmengine.runner import Runner
    path = tmp_path / 'user.py'
    path.write_text(f'''
_base_ = ['mmsplitmix::splitmixer/splitmixer-ii-256-8_1xb512_cifar10.py']
model = dict(
    backbone=dict(arch=dict(embed_dims=16, depth=2, patch_size=4,
                            kernel_size=3)),
    head=dict(num_classes=3, in_channels=16))
data_preprocessor = dict(num_classes=3)
train_dataloader = dict(
    batch_size=8, num_workers=0, persistent_workers=False,
    dataset=dict(_delete_=True, type='CustomDataset',
                 data_root={str(tiny_data)!r},
                 pipeline=[dict(type='LoadImageFromFile')] +
                 _base_.train_pipeline))
train_cfg = dict(max_epochs=1)
val_dataloader = val_cfg = val_evaluator = None
test_dataloader = test_cfg = test_evaluator = None
work_dir = {str(tmp_path / 'work')!r}
''')
    with mmsplitmix.package_configs():
        cfg = Config.fromfile(str(path))
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert (tmp_path / 'work' / 'epoch_1.pth').is_file()
