"""The training and testing tools on CUDA: mixed precision (--amp) in
float16 and bfloat16, --channels-last and --compile, the paper's schedule
in fp32 and with --amp, NCCL through dist_train.sh, test.py, and a killed
run resumed. Skipped without CUDA (see conftest.py)."""
import math
import pickle
import re
import signal
import sys
from pathlib import Path

import pytest
import torch

from mmsplitmix.engine import read_checkpoint
from tests.test_gpu.gpu_testing import (custom_hooks_with, logged_values,
                                        run_gpu_tool, run_record)
from tests.test_tools.tools_testing import (REPO_ROOT, TOOLS, checkpoints_in,
                                            free_port, paper_base_config,
                                            run_launcher, tool_env,
                                            train_until_paused)


def checkpoint(path):
    return read_checkpoint(str(path), mmap=False)


def assert_finite_losses(output):
    losses = logged_values(output, 'loss')
    assert losses, 'no loss logged'
    assert all(math.isfinite(v) for v in losses), losses


def tested_accuracy(output):
    """The accuracy of the test loop's log line (``Epoch(test) ...``)."""
    match = re.search(r'Epoch\(test\).*accuracy/top1: ([0-9.]+)', output)
    assert match, output[-3000:]
    return float(match.group(1))


def test_amp_float16_training(cuda_trained):
    work_dir = cuda_trained['work_dir']
    record = run_record(work_dir)
    assert record['param_device'] == 'cuda'
    assert record['optim_wrapper'] == 'AmpOptimWrapper'
    assert record['forward_dtype'] == 'float16'
    assert record['loss_scaler']
    assert record['dist_backend'] is None
    assert checkpoints_in(work_dir) == [
        'epoch_1.pth', 'epoch_2.pth', 'epoch_3.pth'
    ]
    assert 'Epoch(train) [3][3/3]' in cuda_trained['output']
    assert 'mixed precision needs a GPU' not in cuda_trained['output']
    assert_finite_losses(cuda_trained['output'])
    saved = checkpoint(Path(work_dir) / 'epoch_3.pth')
    assert 'loss_scaler' in saved['optimizer']
    assert saved['meta']['epoch'] == 3


def test_amp_bfloat16_training(gpu_config, tmp_path):
    if not torch.cuda.is_bf16_supported():
        pytest.skip('this GPU has no bfloat16 support')
    proc = run_gpu_tool([
        TOOLS / 'train.py', gpu_config, '--work-dir', tmp_path, '--amp',
        '--cfg-options', 'optim_wrapper.dtype=bfloat16',
        'train_cfg.max_epochs=1'
    ])
    record = run_record(tmp_path)
    assert record['param_device'] == 'cuda'
    assert record['optim_wrapper'] == 'AmpOptimWrapper'
    assert record['forward_dtype'] == 'bfloat16'
    assert checkpoints_in(tmp_path) == ['epoch_1.pth']
    assert_finite_losses(proc.stdout + proc.stderr)


def test_channels_last_and_compile_train_with_amp(cuda_trained, gpu_config,
                                                  tmp_path):
    """tools/train.py's speed switches on CUDA: the compiled backbone trains
    channels-last under autocast, and saves the same state dict keys."""
    proc = run_gpu_tool([
        TOOLS / 'train.py', gpu_config, '--work-dir', tmp_path, '--amp',
        '--channels-last', '--compile', '--cfg-options',
        'train_cfg.max_epochs=1'
    ])
    output = proc.stdout + proc.stderr
    assert 'SplitMixer is compiled for training' in output
    assert 'channels-last memory format' in output
    record = run_record(tmp_path)
    assert record['param_device'] == 'cuda'
    assert record['forward_dtype'] == 'float16'
    assert_finite_losses(output)
    saved = checkpoint(tmp_path / 'epoch_1.pth')['state_dict']
    reference = checkpoint(Path(cuda_trained['work_dir']) /
                           'epoch_1.pth')['state_dict']
    assert list(saved) == list(reference)


def test_paper_schedule_trains_in_fp32_and_with_amp_on_cuda(
        tiny_data, tmp_path):
    """The paper's schedule builds a plain OptimWrapper (fp32) on CUDA;
    --amp turns it into AmpOptimWrapper in float16, as in mmpretrain."""
    config = tmp_path / 'paper_schedule_tiny.py'
    config.write_text(
        paper_base_config(
            tiny_data,
            extra='''
custom_imports = dict(imports=['mmsplitmix', 'tests.test_gpu.record_hook'],
                      allow_failed_imports=False)
''' + custom_hooks_with(dict(type='RecordRunHook')) + '\n'))
    expected = {
        (): ('OptimWrapper', 'float32', False),
        ('--amp', ): ('AmpOptimWrapper', 'float16', True),
    }
    for flags, (wrapper, dtype, loss_scaler) in expected.items():
        work_dir = tmp_path / ('work' + ''.join(flags))
        proc = run_gpu_tool(
            [TOOLS / 'train.py', config, '--work-dir', work_dir, *flags])
        output = proc.stdout + proc.stderr
        record = run_record(work_dir)
        assert record['param_device'] == 'cuda'
        assert record['optim_wrapper'] == wrapper, flags
        assert record['forward_dtype'] == dtype, flags
        assert record['loss_scaler'] is loss_scaler, flags
        assert 'Epoch(train) [2][3/3]' in output
        assert_finite_losses(output)


def test_dist_train_sh_one_process_on_nccl(gpu_config, tmp_path):
    env = tool_env()
    env['PORT'] = str(free_port())
    env['PYTHON'] = sys.executable
    output = run_launcher([
        REPO_ROOT / 'tools' / 'dist_train.sh', gpu_config, '1', '--work-dir',
        tmp_path, '--amp', '--cfg-options', 'train_cfg.max_epochs=1'
    ],
                          env,
                          timeout=300)
    record = run_record(tmp_path)
    assert record['dist_backend'] == 'nccl'
    assert record['world_size'] == 1
    assert record['param_device'] == 'cuda'
    assert record['forward_dtype'] == 'float16'
    assert 'with gloo' not in output
    assert 'Epoch(train) [1][3/3]' in output
    assert checkpoints_in(tmp_path) == ['epoch_1.pth']


def test_test_py_on_cuda_and_on_cpu(cuda_trained, gpu_config, tmp_path):
    """A checkpoint trained on CUDA tests on CUDA with the accuracy of the
    last validation, and gives the same predictions on the CPU."""
    weights = Path(cuda_trained['work_dir']) / 'epoch_3.pth'
    val_accuracy = logged_values(cuda_trained['output'], 'accuracy/top1')[-1]
    predictions = {}
    for device in ('cuda', 'cpu'):
        env = tool_env()
        if device == 'cpu':
            env['CUDA_VISIBLE_DEVICES'] = ''
        out = tmp_path / f'predictions_{device}.pkl'
        proc = run_gpu_tool([
            TOOLS / 'test.py', gpu_config, weights, '--work-dir',
            tmp_path / device, '--out', out
        ],
                            env=env)
        assert tested_accuracy(proc.stdout + proc.stderr) == pytest.approx(
            val_accuracy, abs=1e-4)
        with open(out, 'rb') as f:
            predictions[device] = pickle.load(f)
    assert len(predictions['cuda']) == len(predictions['cpu']) == 24
    # test.py leaves cuDNN's default on: convolutions in TF32 (10-bit
    # mantissa) on Ampere and later GPUs, hence the float tolerance
    for on_cuda, on_cpu in zip(predictions['cuda'], predictions['cpu']):
        torch.testing.assert_close(
            on_cuda['pred_score'], on_cpu['pred_score'], rtol=1e-2, atol=1e-3)
        assert int(on_cuda['pred_label']) == int(on_cpu['pred_label'])


def test_resume_after_sigkill_on_cuda(cuda_trained, gpu_config, tmp_path):
    marker = tmp_path / 'paused'
    pausing_config = tmp_path / 'tiny_pausing_cuda.py'
    pausing_config.write_text(
        f'_base_ = [{str(gpu_config)!r}]\n'
        "custom_imports = dict(imports=['mmsplitmix', "
        "'tests.test_gpu.record_hook', 'tests.test_tools.pause_hook'], "
        'allow_failed_imports=False)\n' + custom_hooks_with(
            dict(type='RecordRunHook'),
            dict(type='PauseAfterFirstEpochHook', marker=str(marker))) + '\n')
    work_dir = tmp_path / 'work'
    env = tool_env()
    status = train_until_paused([
        REPO_ROOT / 'tools' / 'train.py', pausing_config, '--work-dir',
        work_dir, '--amp'
    ],
                                marker,
                                tmp_path / 'killed_run.log',
                                env,
                                timeout=240)
    assert status == -signal.SIGKILL
    assert checkpoints_in(work_dir) == ['epoch_1.pth']

    resumed = run_gpu_tool([
        TOOLS / 'train.py', gpu_config, '--work-dir', work_dir, '--amp',
        '--resume'
    ])
    output = resumed.stdout + resumed.stderr
    assert 'resumed epoch: 1' in output
    assert 'Epoch(train) [1]' not in output
    assert 'Epoch(train) [3][3/3]' in output
    assert checkpoints_in(work_dir) == [
        'epoch_1.pth', 'epoch_2.pth', 'epoch_3.pth'
    ]
    assert run_record(work_dir)['param_device'] == 'cuda'
    resumed_state = checkpoint(work_dir / 'epoch_3.pth')
    assert 'loss_scaler' in resumed_state['optimizer']
    first = checkpoint(work_dir / 'epoch_1.pth')['state_dict']
    reference = checkpoint(Path(cuda_trained['work_dir']) /
                           'epoch_3.pth')['state_dict']
    weights = resumed_state['state_dict']
    assert weights.keys() == reference.keys()
    # CUDA kernels may sum in any order: equal up to rounding, and moved
    # on from the checkpoint resumed.
    for name, value in reference.items():
        if value.is_floating_point():
            torch.testing.assert_close(
                weights[name], value, rtol=1e-2, atol=1e-3, msg=name)
        else:
            assert torch.equal(weights[name], value), name
    assert not torch.equal(weights['backbone.stem.0.weight'],
                           first['backbone.stem.0.weight'])
