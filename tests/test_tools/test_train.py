"""End-to-end tests of tools/train.py and tools/dist_train.sh on the CPU."""
import glob
import os
import os.path as osp
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tools_testing import (REPO_ROOT, TOOLS, checkpoints_in, run_tool,
                      tool_env)

import mmsplitmix  # noqa: F401  (safe checkpoint loader)
from mmsplitmix.utils import load_checkpoint_file

TESTS_DIR = Path(__file__).resolve().parent


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def last_value(text, key):
    """The last logged value of ``key: <number>`` in a log text."""
    values = re.findall(rf'{re.escape(key)}: ([0-9.]+)', text)
    assert values, f'{key} not found in the log'
    return float(values[-1])


def state_dict(path):
    return load_checkpoint_file(str(path), map_location='cpu')['state_dict']


def test_train_saves_checkpoints_and_logs_progress(trained_work_dir):
    work_dir = trained_work_dir['work_dir']
    assert checkpoints_in(work_dir) == [
        'epoch_1.pth', 'epoch_2.pth', 'epoch_3.pth'
    ]
    latest = (Path(work_dir) / 'last_checkpoint').read_text().strip()
    assert latest.endswith('epoch_3.pth')
    # The log file lands in the work dir and shows progress with time left.
    logs = glob.glob(osp.join(work_dir, '*', '*.log'))
    assert len(logs) == 1
    log = Path(logs[0]).read_text()
    assert 'eta: ' in log
    assert 'Epoch(train) [3][3/3]' in log
    assert 'accuracy/top1' in log
    checkpoint = load_checkpoint_file(
        osp.join(work_dir, 'epoch_3.pth'), map_location='cpu')
    assert checkpoint['meta']['epoch'] == 3
    assert checkpoint['meta']['dataset_meta']['classes'] == ('blue', 'green',
                                                             'red')
    assert 'backbone.stem.0.weight' in checkpoint['state_dict']


def test_resume_after_sigkill_matches_uninterrupted_run(
        trained_work_dir, tiny_config, tmp_path):
    marker = tmp_path / 'paused'
    pausing_config = tmp_path / 'tiny_pausing.py'
    pausing_config.write_text(
        f'_base_ = [{str(tiny_config)!r}]\n'
        "custom_imports = dict(imports=['mmsplitmix', 'pause_hook'], "
        'allow_failed_imports=False)\n'
        f'custom_hooks = [dict(type="PauseAfterFirstEpochHook", '
        f'marker={str(marker)!r})]\n')
    work_dir = tmp_path / 'work'
    env = tool_env()
    env['PYTHONPATH'] += os.pathsep + str(TESTS_DIR)
    killed_log = tmp_path / 'killed_run.log'
    with open(killed_log, 'w') as log:
        proc = subprocess.Popen(
            [sys.executable, TOOLS / 'train.py', pausing_config,
             '--work-dir', work_dir],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 180
            while not marker.exists():
                if proc.poll() is not None:
                    pytest.fail('training ended before the pause:\n' +
                                killed_log.read_text()[-3000:])
                if time.monotonic() > deadline:
                    pytest.fail('training did not reach the end of epoch 1')
                time.sleep(0.1)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert checkpoints_in(work_dir) == ['epoch_1.pth']

    # `--resume` alone continues from the latest checkpoint of the work dir.
    resumed = run_tool([
        TOOLS / 'train.py', tiny_config, '--work-dir', work_dir, '--resume'
    ])
    output = resumed.stdout + resumed.stderr
    assert 'resumed epoch: 1' in output
    assert 'Epoch(train) [1]' not in output
    assert 'Epoch(train) [3][3/3]' in output
    assert checkpoints_in(work_dir) == [
        'epoch_1.pth', 'epoch_2.pth', 'epoch_3.pth'
    ]

    uninterrupted = trained_work_dir['output']
    for key in ('loss', 'accuracy/top1'):
        assert last_value(output, key) == last_value(uninterrupted, key)
    resumed_weights = state_dict(work_dir / 'epoch_3.pth')
    reference_weights = state_dict(
        Path(trained_work_dir['work_dir']) / 'epoch_3.pth')
    assert resumed_weights.keys() == reference_weights.keys()
    for name, value in reference_weights.items():
        assert torch.equal(resumed_weights[name], value), name


def test_resume_from_named_checkpoint(trained_work_dir, tiny_config,
                                      tmp_path):
    checkpoint = Path(trained_work_dir['work_dir']) / 'epoch_2.pth'
    proc = run_tool([
        TOOLS / 'train.py', tiny_config, '--work-dir', tmp_path, '--resume',
        checkpoint
    ])
    output = proc.stdout + proc.stderr
    assert 'resumed epoch: 2' in output
    assert checkpoints_in(tmp_path) == ['epoch_3.pth']
    reference = state_dict(Path(trained_work_dir['work_dir']) / 'epoch_3.pth')
    resumed = state_dict(tmp_path / 'epoch_3.pth')
    for name, value in reference.items():
        assert torch.equal(resumed[name], value), name


def test_two_cpu_processes_with_dist_train_sh(tiny_config, tmp_path):
    env = tool_env()
    env['PORT'] = str(free_port())
    env['PYTHON'] = sys.executable
    proc = subprocess.run([
        'bash', TOOLS / 'dist_train.sh', tiny_config, '2', '--work-dir',
        tmp_path, '--cfg-options', 'train_cfg.max_epochs=1'
    ],
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=240)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    if not torch.cuda.is_available():
        assert 'distributed run on the CPU with gloo (rank 0 of 2)' in output
        assert 'distributed run on the CPU with gloo (rank 1 of 2)' in output
    # 24 images, batch 8 per process: 2 iterations per process and epoch
    # (one process alone needs 3).
    assert 'Epoch(train) [1][2/2]' in output
    assert 'Epoch(train) [1][3/3]' not in output
    assert checkpoints_in(tmp_path) == ['epoch_1.pth']
    assert 'backbone.stem.0.weight' in state_dict(tmp_path / 'epoch_1.pth')


@pytest.mark.skipif(
    torch.cuda.is_available(), reason='checks the fallback without a GPU')
def test_amp_without_gpu_falls_back_to_fp32_in_default_work_dir(
        tiny_config, tmp_path):
    proc = run_tool([
        TOOLS / 'train.py', tiny_config, '--amp', '--cfg-options',
        'train_cfg.max_epochs=1'
    ],
                    cwd=tmp_path)
    output = proc.stdout + proc.stderr
    assert '--amp: mixed precision needs a GPU' in output
    assert 'full precision (fp32)' in output
    work_dir = tmp_path / 'work_dirs' / 'tiny_splitmixer'
    assert checkpoints_in(work_dir) == ['epoch_1.pth']


def test_bad_arguments_fail_early_naming_the_path(tiny_config, tmp_path):
    missing_config = tmp_path / 'missing_config.py'
    proc = run_tool([TOOLS / 'train.py', missing_config], check=False)
    assert proc.returncode == 2
    assert f'config file not found: {str(missing_config)!r}' in proc.stderr

    missing_checkpoint = tmp_path / 'missing.pth'
    proc = run_tool(
        [TOOLS / 'train.py', tiny_config, '--resume', missing_checkpoint],
        check=False)
    assert proc.returncode == 2
    assert (f'checkpoint to resume from not found: '
            f'{str(missing_checkpoint)!r}') in proc.stderr


def test_truncated_checkpoint_to_resume_is_a_clear_error(
        trained_work_dir, tiny_config, tmp_path):
    source = Path(trained_work_dir['work_dir']) / 'epoch_1.pth'
    truncated = tmp_path / 'truncated.pth'
    truncated.write_bytes(source.read_bytes()[:2000])
    proc = run_tool([
        TOOLS / 'train.py', tiny_config, '--work-dir', tmp_path / 'work',
        '--resume', truncated
    ],
                    check=False)
    assert proc.returncode != 0
    assert 'CorruptCheckpointError' in proc.stderr
    assert f'Checkpoint file {str(truncated)!r} is truncated' in proc.stderr


def test_user_config_inheriting_our_base_configs(tiny_data, tmp_path):
    base = REPO_ROOT / 'configs' / '_base_'
    user_config = tmp_path / 'my_splitmixer.py'
    user_config.write_text(f'''
_base_ = [
    {str(base / 'models' / 'splitmixer-i-256-8.py')!r},
    {str(base / 'schedules' / 'splitmixer_bs512_adamw_100e.py')!r},
    {str(base / 'default_runtime.py')!r},
]
model = dict(
    backbone=dict(arch=dict(embed_dims=16, depth=2, patch_size=4,
                            kernel_size=3)),
    head=dict(num_classes=3, in_channels=16))
data_preprocessor = dict(
    num_classes=3, mean=[127.5] * 3, std=[127.5] * 3, to_rgb=True)
pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
train_dataloader = dict(
    batch_size=8, num_workers=0,
    dataset=dict(type='CustomDataset', data_root={str(tiny_data)!r},
                 pipeline=pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True))
val_dataloader = dict(
    batch_size=8, num_workers=0,
    dataset=dict(type='CustomDataset', data_root={str(tiny_data)!r},
                 pipeline=pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False))
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_dataloader = val_dataloader
test_evaluator = val_evaluator
train_cfg = dict(max_epochs=2)
default_hooks = dict(logger=dict(interval=1))
randomness = dict(seed=0)
''')
    work_dir = tmp_path / 'work'
    run_tool([
        TOOLS / 'train.py', user_config, '--work-dir', work_dir,
        '--auto-scale-lr'
    ])
    assert checkpoints_in(work_dir)[-1] == 'epoch_2.pth'
    proc = run_tool([
        TOOLS / 'test.py', user_config, work_dir / 'epoch_2.pth',
        '--work-dir', work_dir
    ])
    assert re.search(r'accuracy/top1: [0-9.]+', proc.stdout)
