import argparse

import pytest
from mmengine.config import Config

from mmsplitmix.utils import (ConfigError, KeyValueAction,
                              check_train_settings, load_config, tool_args)


def parser():
    p = argparse.ArgumentParser(prog='tool')
    p.add_argument('--cfg-options', nargs='+', action=KeyValueAction)
    return p


def test_cfg_options_accept_pairs_and_name_a_malformed_one(capsys):
    args = parser().parse_args(['--cfg-options', 'a.b=1', 'c=[1,2]'])
    assert args.cfg_options == {'a.b': 1, 'c': [1, 2]}
    for bad in (['a.b'], ['=3'], ['a=[1,2']):
        with pytest.raises(SystemExit):
            parser().parse_args(['--cfg-options', *bad])
        err = capsys.readouterr().err
        assert 'tool: error: --cfg-options' in err
    assert "'a.b' is not a KEY=VALUE pair" in (_error(['--cfg-options', 'a.b'],
                                                      capsys))


def _error(argv, capsys):
    with pytest.raises(SystemExit):
        parser().parse_args(argv)
    return capsys.readouterr().err


def test_config_syntax_errors_name_the_file_and_line(tmp_path):
    base = tmp_path / 'base.py'
    base.write_text('a = 1\nb = dict(\n')
    child = tmp_path / 'child.py'
    child.write_text(f'_base_ = [{str(base)!r}]\nc = 2\n')
    with pytest.raises(
            ConfigError,
            match=rf"config file '{base}' has a "
            r'syntax error at line 2 .*\(a base of'):
        load_config(str(child))
    with pytest.raises(
            ConfigError,
            match=rf"config file '{base}' has a "
            'syntax error at line 2'):
        load_config(str(base))
    broken = tmp_path / 'broken.py'
    broken.write_text('x = undefined_name + 1\n')
    with pytest.raises(
            ConfigError,
            match=rf"config file '{broken}' could "
            "not be loaded: NameError: name 'undefined_name'"):
        load_config(str(broken))


@pytest.mark.parametrize('train_cfg, message', [
    (dict(by_epoch=True, max_epochs=-1),
     'train_cfg.max_epochs must be a positive int, got -1'),
    (dict(by_epoch=True, max_epochs=2.5),
     'train_cfg.max_epochs must be a positive int, got 2.5'),
    (dict(by_epoch=False,
          max_iters=0), 'train_cfg.max_iters must be a positive int, got 0'),
    (dict(by_epoch=True), 'train_cfg.max_epochs is not set'),
    (dict(by_epoch=True, max_epochs=2, val_interval=0),
     'train_cfg.val_interval must be a positive int, got 0'),
])
def test_bad_training_settings_are_named(train_cfg, message):
    with pytest.raises(ConfigError, match=message.replace('.', r'\.')):
        check_train_settings(Config(dict(train_cfg=train_cfg)))


def test_good_training_settings_pass():
    check_train_settings(
        Config(
            dict(
                train_cfg=dict(by_epoch=True, max_epochs=3, val_interval=1),
                train_dataloader=dict(batch_size=8, num_workers=0))))
    with pytest.raises(ConfigError, match='train_dataloader.batch_size'):
        check_train_settings(
            Config(
                dict(
                    train_cfg=dict(by_epoch=True, max_epochs=3),
                    train_dataloader=dict(batch_size=0))))


@pytest.mark.parametrize('device, available', [('cuda', True), ('npu', True),
                                               ('mlu', True), ('musa', True),
                                               ('mps', False), ('cpu', False)])
def test_amp_devices_are_those_amp_optim_wrapper_accepts(
        monkeypatch, device, available):
    import mmengine.device
    monkeypatch.setattr(mmengine.device, 'get_device', lambda: device)
    assert tool_args.amp_device_available() is available
    if available:
        tool_args.check_amp_device('--amp', 'drop it')
    else:
        with pytest.raises(
                ConfigError,
                match=r'^--amp: mixed precision needs a GPU \(CUDA, NPU, '
                r'MLU or MUSA\) and none was found; drop it$'):
            tool_args.check_amp_device('--amp', 'drop it')


def _train_config(**optim_wrapper):
    return Config(
        dict(
            train_cfg=dict(by_epoch=True, max_epochs=3),
            optim_wrapper=dict(
                optimizer=dict(type='SGD', lr=0.1), **optim_wrapper)))


@pytest.mark.parametrize('wrapper_type',
                         ['AmpOptimWrapper', 'mmengine.AmpOptimWrapper'])
def test_amp_optim_wrapper_without_a_gpu_is_named(monkeypatch, wrapper_type):
    from mmengine.optim import AmpOptimWrapper
    monkeypatch.setattr(tool_args, 'amp_device_available', lambda: False)
    for cfg in (_train_config(type=wrapper_type, loss_scale='dynamic'),
                Config(
                    dict(
                        train_cfg=dict(by_epoch=True, max_epochs=3),
                        optim_wrapper=dict(type=AmpOptimWrapper)))):
        with pytest.raises(
                ConfigError,
                match=r'^optim_wrapper\.type=.*AmpOptimWrapper.*: mixed '
                r'precision needs a GPU .* use a plain OptimWrapper'):
            check_train_settings(cfg)
    # full precision needs no GPU
    check_train_settings(_train_config())
    check_train_settings(_train_config(type='OptimWrapper'))
    # and with a GPU mixed precision is fine
    monkeypatch.setattr(tool_args, 'amp_device_available', lambda: True)
    check_train_settings(_train_config(type=wrapper_type))


def test_check_output_file(tmp_path):
    from mmsplitmix.utils.tool_args import check_output_file
    check_output_file('--out', str(tmp_path / 'metrics.json'))
    with pytest.raises(
            ValueError, match=r"--out '.*' is a folder, expected a file path"):
        check_output_file('--out', str(tmp_path))
    missing = tmp_path / 'missing' / 'metrics.json'
    with pytest.raises(FileNotFoundError) as info:
        check_output_file('--out', str(missing))
    assert str(info.value) == (f'--out {str(missing)!r}: its folder '
                               f'{str(missing.parent)!r} does not exist')


def test_misspelt_option_error_names_only_options_it_matches():
    error = TypeError(
        "SGD.__init__() got an unexpected keyword argument 'lrr'")
    options = {'optim_wrapper.optimizer.lrr': 0.1, 'train_cfg.max_epochs': 2}
    assert tool_args.misspelt_option_error(error, options) == (
        "--cfg-options optim_wrapper.optimizer.lrr=0.1: SGD.__init__() got "
        "an unexpected keyword argument 'lrr'. No such setting there: check "
        'the spelling of the key.')
    # an argument of the config file, or another TypeError: not ours to say
    assert tool_args.misspelt_option_error(error,
                                           {'train_cfg.max_epochs': 2}) is None
    assert tool_args.misspelt_option_error(error, None) is None
    assert tool_args.misspelt_option_error(
        TypeError('unsupported operand'), options) is None
