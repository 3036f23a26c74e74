"""tools/train.py and tools/dist_train.sh from the command line, on CPUs."""
import argparse
import glob
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from mmsplitmix.engine import read_checkpoint
from tests.test_tools.tools_testing import (TOOLS, assert_refused,
                                            checkpoints_in, free_port,
                                            load_tool, run_tool, tool_env)


def imported_modules(args):
    """The modules ``python ARGS`` imports (``-X importtime``)."""
    proc = subprocess.run(
        [sys.executable, '-X', 'importtime'] + args,
        capture_output=True,
        text=True,
        env=tool_env())
    assert proc.returncode == 0, proc.stderr[-2000:]
    return {
        line.split('|')[-1].strip().split('.')[0]
        for line in proc.stderr.splitlines() if line.startswith('import time')
    }


@pytest.mark.parametrize('tool', ['train.py', 'test.py'])
def test_help_imports_nothing_heavy(tool):
    modules = imported_modules([str(TOOLS / tool), '--help'])
    assert not modules & {'torch', 'mmengine', 'mmpretrain', 'mmsplitmix'}


def test_train_saves_checkpoints_and_logs_progress(trained_work_dir):
    work_dir = Path(trained_work_dir['work_dir'])
    best, *epochs = checkpoints_in(work_dir)
    assert epochs == ['epoch_1.pth', 'epoch_2.pth', 'epoch_3.pth']
    assert best.startswith('best_accuracy_top1_epoch_')
    assert (work_dir / 'last_checkpoint').read_text() == str(work_dir /
                                                             'epoch_3.pth')
    log = Path(glob.glob(str(work_dir / '*' / '*.log'))[0]).read_text()
    assert 'Epoch(train) [3][3/3]' in log and 'accuracy/top1' in log
    checkpoint = read_checkpoint(str(work_dir / 'epoch_3.pth'))
    assert checkpoint['meta']['epoch'] == 3
    assert checkpoint['meta']['dataset_meta']['classes'] == ('blue', 'green',
                                                             'red')


def parsed(tool, *argv):
    return tool.parse_args([str(arg) for arg in argv])[1]


def test_options_reach_the_config(tiny_config, tmp_path):
    tool = load_tool('train.py')
    cfg = Config.fromfile(str(tiny_config))
    cfg.auto_scale_lr = dict(base_batch_size=8)
    cfg.train_dataloader.pop('persistent_workers')
    cfg.train_dataloader.num_workers = 2
    tool.merge_args(
        cfg,
        parsed(tool, tiny_config, '--channels-last', '--compile',
               '--no-validate', '--auto-scale-lr', '--resume', '--cfg-options',
               'train_cfg.max_epochs=7'))
    types = [hook['type'] for hook in cfg.custom_hooks]
    assert types[-2:] == [
        'mmpretrain.ChannelsLastHook', 'mmpretrain.CompiledBackboneHook'
    ]
    assert 'SafeLoadingHook' in types  # the config's guarantees stay
    assert cfg.val_dataloader is None and cfg.auto_scale_lr.enable
    assert cfg.resume and cfg.load_from is None
    assert cfg.train_cfg.max_epochs == 7
    assert cfg.work_dir == os.path.join('./work_dirs', 'tiny_splitmixer')
    assert not cfg.train_dataloader.pin_memory  # no GPU
    assert not cfg.test_dataloader.persistent_workers  # no workers
    assert cfg.train_dataloader.persistent_workers  # with workers


@pytest.mark.parametrize('argv, message', [
    (['--cfg-options', 'train_cfg.max_epochs=-1'
      ], 'train_cfg.max_epochs must be a positive int, got -1'),
    (['--compile', '--cfg-options', 'compile=True'
      ], '--cfg-options compile=None'),
    (['--amp'], '--amp: mixed precision needs a GPU'),
    (['--auto-scale-lr'], '--auto-scale-lr needs auto_scale_lr'),
])
def test_bad_settings_are_refused(tiny_config, argv, message):
    if torch.cuda.is_available() and argv == ['--amp']:
        pytest.skip('a GPU runs mixed precision')
    tool = load_tool('train.py')
    cfg = Config.fromfile(str(tiny_config))
    with pytest.raises(ValueError, match=message.replace('(', r'\(')):
        tool.merge_args(cfg, parsed(tool, tiny_config, *argv))


def test_inputs_are_refused_before_anything_runs(tiny_config, tmp_path):
    (tmp_path / 'file').write_text('')
    for argv, message in [
        (['missing.py'], "config file not found: 'missing.py'"),
        ([tiny_config, '--work-dir', tmp_path / 'file'], 'is a file'),
        ([tiny_config, '--resume', tmp_path / 'no.pth'], 'not found'),
        ([tiny_config, '--resume', '--new-run'], 'give one of them'),
    ]:
        assert_refused(
            run_tool([TOOLS / 'train.py', *argv], check=False), 2, message)
    (tmp_path / 'mmsplitmix').mkdir()  # a clone named mmsplitmix, say
    assert_refused(
        run_tool([TOOLS / 'train.py', tiny_config],
                 check=False,
                 cwd=tmp_path,
                 env=tool_env(PYTHONPATH=str(tmp_path))), 1,
        f'finds the folder {tmp_path / "mmsplitmix"} instead of the '
        'installed package')
    base = tmp_path / 'base.py'
    base.write_text('model = dict(\n')
    config = tmp_path / 'user.py'
    config.write_text(f'_base_ = [{str(base)!r}]\n')
    with pytest.raises(
            SystemExit,
            match=f"config file '{base}' has a syntax error at "
            'line 1'):
        load_tool('runner_setup.py').load_config(str(config))


def test_new_run_moves_the_previous_run_aside(trained_work_dir, tiny_config,
                                              tmp_path):
    work_dir = tmp_path / 'work'
    shutil.copytree(trained_work_dir['work_dir'], work_dir)
    run_tool([
        TOOLS / 'train.py', tiny_config, '--work-dir', work_dir, '--new-run',
        '--cfg-options', 'train_cfg.max_epochs=1'
    ])
    moved, = (work_dir / 'previous_runs').iterdir()
    assert sorted(os.listdir(moved))[1:] == [
        'epoch_1.pth', 'epoch_2.pth', 'epoch_3.pth', 'last_checkpoint'
    ]
    assert checkpoints_in(work_dir) == [
        'best_accuracy_top1_epoch_1.pth', 'epoch_1.pth'
    ]


def launch_two_nodes(config, work_dir, port, *options):
    """Node ranks 0 and 1 of a two-node job on this machine, each
    ``tools/dist_train.sh CONFIG 1`` (one process) with gloo."""
    procs = []
    for rank in (0, 1):
        env = tool_env(
            NNODES='2',
            NODE_RANK=str(rank),
            MASTER_ADDR='127.0.0.1',
            PORT=str(port),
            PYTHON=sys.executable)
        procs.append(
            subprocess.Popen([
                'bash',
                str(TOOLS / 'dist_train.sh'),
                str(config), '1', '--work-dir',
                str(work_dir), *options
            ],
                             env=env,
                             stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT,
                             text=True,
                             start_new_session=True))
    return procs


def finish(procs, timeout=300):
    outputs = [proc.communicate(timeout=timeout)[0] for proc in procs]
    return [proc.returncode for proc in procs], outputs


@pytest.mark.slow
def test_two_nodes_train_and_resume_after_a_rank_is_killed(
        tiny_config, tmp_path):
    """A job of two node ranks (one process each, gloo on the CPU) writes
    one set of checkpoints; killing the rank of node 1 after epoch 1 (it
    pauses there, so node 0 waits for it) ends the job on both nodes, and
    the job resumes from epoch 1."""
    marker = tmp_path / 'paused'
    config = tmp_path / 'pausing.py'
    config.write_text(
        f'_base_ = [{str(tiny_config)!r}]\n'
        "custom_imports = dict(imports=['mmsplitmix', "
        "'tests.test_tools.pause_hook'], allow_failed_imports=False)\n"
        "custom_hooks = [dict(type='PauseAfterFirstEpochHook', "
        f'marker={str(marker)!r}, rank=1)]\n')
    work_dir = tmp_path / 'work'
    procs = launch_two_nodes(config, work_dir, free_port())
    deadline = time.monotonic() + 240
    while not (marker.exists() and marker.read_text()):
        assert all(proc.poll() is None for proc in procs), finish(procs)[1]
        if time.monotonic() > deadline:
            for proc in procs:
                os.killpg(proc.pid, signal.SIGKILL)
            raise AssertionError(finish(procs)[1])
        time.sleep(0.2)
    os.kill(int(marker.read_text()), signal.SIGKILL)
    statuses, outputs = finish(procs)
    assert statuses[0] != 0 and statuses[1] != 0, outputs
    assert [
        name for name in checkpoints_in(work_dir) if name.startswith('epoch')
    ] == ['epoch_1.pth']

    statuses, outputs = finish(
        launch_two_nodes(tiny_config, work_dir, free_port(), '--resume'))
    assert statuses == [0, 0], outputs[0][-3000:] + outputs[1][-3000:]
    assert "Resuming from '" in outputs[0]
    # 24 images, batch 8 on each of 2 ranks: 2 iterations an epoch
    assert 'Epoch(train) [3][2/2]' in outputs[0]
    assert 'Epoch(train) [1]' not in outputs[0]
    assert [
        name for name in checkpoints_in(work_dir) if name.startswith('epoch')
    ] == ['epoch_1.pth', 'epoch_2.pth', 'epoch_3.pth']
    assert read_checkpoint(str(work_dir / 'epoch_3.pth'))['meta']['epoch'] == 3


def test_main_parses_mmpretrain_style_cfg_options(tiny_config):
    tool = load_tool('train.py')
    args = parsed(tool, tiny_config, '--cfg-options', 'a.b=[1,2]', 'c=x')
    assert isinstance(args, argparse.Namespace)
    cfg = Config.fromfile(str(tiny_config))
    tool.merge_args(cfg, args)
    assert cfg.a.b == [1, 2] and cfg.c == 'x'
