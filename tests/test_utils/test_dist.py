import os

import pytest
import torch
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.model import MMDistributedDataParallel

from mmsplitmix.utils import (cpu_model_wrapper_cfg, init_cpu_process_group,
                              setup_cpu_distributed)
from tests.test_tools.tools_testing import free_port

DIST_ENV = ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR', 'MASTER_PORT',
            'SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_LOCALID', 'SLURM_NODELIST')


@pytest.fixture
def clean_env(monkeypatch):
    """No launcher variables; the ones the code under test sets are
    removed afterwards."""
    for name in DIST_ENV:
        # set first so that monkeypatch restores the original state
        monkeypatch.setenv(name, '')
        monkeypatch.delenv(name)
    yield monkeypatch
    if torch_dist.is_initialized():
        torch_dist.destroy_process_group()


def test_wrapper_cfg_without_one_in_the_config():
    assert cpu_model_wrapper_cfg(
        None, find_unused_parameters=True) == dict(
            type='MMDistributedDataParallel',
            broadcast_buffers=False,
            find_unused_parameters=True,
            device_ids=None)


def test_wrapper_cfg_keeps_user_options_and_drops_gpu_ids():
    user = dict(
        type='MMDistributedDataParallel',
        find_unused_parameters=True,
        device_ids=[0])
    result = cpu_model_wrapper_cfg(user)
    assert result == dict(
        type='MMDistributedDataParallel',
        find_unused_parameters=True,
        device_ids=None)
    assert user['device_ids'] == [0]  # not modified in place
    assert cpu_model_wrapper_cfg(dict(find_unused_parameters=False)) == dict(
        type='MMDistributedDataParallel',
        find_unused_parameters=False,
        device_ids=None)


def test_wrapper_cfg_leaves_other_wrappers_alone():
    cfg = dict(type='MMFullyShardedDataParallel')
    assert cpu_model_wrapper_cfg(cfg) == cfg
    with pytest.raises(KeyError, match='NoSuchWrapper'):
        cpu_model_wrapper_cfg(dict(type='NoSuchWrapper'))


def test_single_process_configs_are_untouched(clean_env):
    cfg = Config(dict(launcher='none', env_cfg=dict(dist_cfg=dict())))
    assert setup_cpu_distributed(cfg) is False
    assert 'model_wrapper_cfg' not in cfg
    with pytest.raises(ValueError, match='launcher'):
        setup_cpu_distributed(Config(dict(launcher='torchrun')))


def test_missing_launcher_environment_is_named(clean_env):
    with pytest.raises(KeyError, match='RANK'):
        init_cpu_process_group('pytorch')
    with pytest.raises(KeyError, match='SLURM_PROCID'):
        init_cpu_process_group('slurm')


@pytest.mark.skipif(
    torch.cuda.is_available(), reason='the CPU path runs without a GPU')
def test_torchrun_environment_on_cpu_uses_gloo_and_cpu_ddp(clean_env):
    clean_env.setenv('RANK', '0')
    clean_env.setenv('WORLD_SIZE', '1')
    clean_env.setenv('LOCAL_RANK', '0')
    clean_env.setenv('MASTER_ADDR', '127.0.0.1')
    clean_env.setenv('MASTER_PORT', str(free_port()))
    cfg = Config(
        dict(
            launcher='pytorch',
            env_cfg=dict(dist_cfg=dict(backend='nccl', timeout=60))))
    assert setup_cpu_distributed(cfg) is True
    assert torch_dist.is_initialized()
    assert torch_dist.get_backend() == 'gloo'
    assert cfg.model_wrapper_cfg.device_ids is None
    # DDP on the CPU with these options works (it fails with device_ids).
    model = MMDistributedDataParallel(
        module=torch.nn.Linear(2, 2),
        **{
            k: v
            for k, v in cfg.model_wrapper_cfg.items() if k != 'type'
        })
    model(torch.ones(1, 2)).sum().backward()


@pytest.mark.skipif(
    torch.cuda.is_available(), reason='the CPU path runs without a GPU')
def test_slurm_environment_on_cpu(clean_env):
    clean_env.setenv('SLURM_PROCID', '0')
    clean_env.setenv('SLURM_NTASKS', '1')
    clean_env.setenv('SLURM_NODELIST', 'node-1')
    clean_env.setenv('MASTER_ADDR', '127.0.0.1')
    port = free_port()
    assert init_cpu_process_group('slurm', dict(backend='gloo',
                                                port=port)) == 'gloo'
    assert os.environ['MASTER_PORT'] == str(port)
    assert (os.environ['RANK'], os.environ['WORLD_SIZE'],
            os.environ['LOCAL_RANK']) == ('0', '1', '0')
    assert torch_dist.get_world_size() == 1
