"""End-to-end tests of tools/train.py and tools/dist_train.sh on the CPU."""
import glob
import json
import os
import os.path as osp
import re
import shutil
import signal
import sys
from pathlib import Path

import pytest
import torch

import mmsplitmix  # noqa: F401
from mmsplitmix.utils import load_checkpoint_file
from tests.test_tools.tools_testing import (REPO_ROOT, TOOLS, assert_refused,
                                            checkpoints_in, derived_config,
                                            free_port, load_tool,
                                            paper_base_config, run_launcher,
                                            run_tool, slurm_stand_in, tool_env,
                                            train_until_paused)


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
        "custom_imports = dict(imports=['mmsplitmix', "
        "'tests.test_tools.pause_hook'], "
        'allow_failed_imports=False)\n'
        f'custom_hooks = [dict(type="PauseAfterFirstEpochHook", '
        f'marker={str(marker)!r})]\n')
    work_dir = tmp_path / 'work'
    env = tool_env()
    status = train_until_paused(
        [TOOLS / 'train.py', pausing_config, '--work-dir', work_dir], marker,
        tmp_path / 'killed_run.log', env)
    assert status == -signal.SIGKILL
    assert checkpoints_in(work_dir) == ['epoch_1.pth']

    # `--resume` alone continues from the latest checkpoint of the work dir.
    resumed = run_tool(
        [TOOLS / 'train.py', tiny_config, '--work-dir', work_dir, '--resume'])
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


def test_resume_from_named_checkpoint(trained_work_dir, tiny_config, tmp_path):
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
    output = run_launcher([
        TOOLS / 'dist_train.sh', tiny_config, '2', '--work-dir', tmp_path,
        '--cfg-options', 'train_cfg.max_epochs=1'
    ],
                          env,
                          timeout=240)
    if not torch.cuda.is_available():
        assert 'distributed run on the CPU with gloo (rank 0 of 2)' in output
        assert 'distributed run on the CPU with gloo (rank 1 of 2)' in output
    # 24 images, batch 8 per process: 2 iterations per process and epoch
    # (one process alone needs 3).
    assert 'Epoch(train) [1][2/2]' in output
    assert 'Epoch(train) [1][3/3]' not in output
    assert checkpoints_in(tmp_path) == ['epoch_1.pth']
    assert 'backbone.stem.0.weight' in state_dict(tmp_path / 'epoch_1.pth')


def test_slurm_train_sh_runs_one_task_with_the_slurm_launcher(
        tiny_config, tmp_path):
    env, record = slurm_stand_in(tmp_path)
    work_dir = tmp_path / 'work'
    output = run_launcher([
        TOOLS / 'slurm_train.sh', 'debug', 'tiny-train', tiny_config, work_dir,
        '--cfg-options', 'train_cfg.max_epochs=1'
    ],
                          env,
                          timeout=240)
    srun_args = record.read_text().split()
    assert srun_args[:2] == ['-p', 'debug']
    for option in ('--job-name=tiny-train', '--ntasks=1',
                   f'--work-dir={work_dir}', '--launcher=slurm'):
        assert option in srun_args
    assert 'Distributed launcher: slurm' in output
    assert checkpoints_in(work_dir) == ['epoch_1.pth']


NO_GPU = '--amp: mixed precision needs a GPU (CUDA, NPU, MLU or MUSA) and ' \
    'none was found; drop --amp to train in full precision (fp32)'


@pytest.mark.skipif(
    torch.cuda.is_available(), reason='checks the error without a GPU')
def test_amp_without_gpu_is_an_error_that_writes_nothing(
        tiny_config, tmp_path):
    proc = run_tool([
        TOOLS / 'train.py', tiny_config, '--amp', '--cfg-options',
        'train_cfg.max_epochs=1'
    ],
                    cwd=tmp_path,
                    check=False)
    assert_refused(proc, 2)
    assert proc.stderr.rstrip().endswith(f'train.py: error: {NO_GPU}')
    assert list(tmp_path.iterdir()) == []  # no work_dirs/tiny_splitmixer


def test_auto_scale_lr_without_base_batch_size_is_a_clear_error(
        tiny_config, tmp_path):
    proc = run_tool([TOOLS / 'train.py', tiny_config, '--auto-scale-lr'],
                    cwd=tmp_path,
                    check=False)
    assert_refused(
        proc, 2, 'train.py: error: --auto-scale-lr needs `auto_scale_lr = '
        'dict(base_batch_size=...)`')
    assert list(tmp_path.iterdir()) == []


def test_compile_with_mmengine_compile_in_the_config_is_a_clear_error(
        tiny_config, tmp_path):
    """--compile compiles the backbone; mmengine's ``compile`` compiles the
    whole training step: one or the other, refused before anything is
    written."""
    proc = run_tool([
        TOOLS / 'train.py', tiny_config, '--compile', '--cfg-options',
        'compile=True'
    ],
                    cwd=tmp_path,
                    check=False)
    assert_refused(
        proc, 2, 'train.py: error: --compile compiles the backbone, and the '
        'config also sets compile=True', '--cfg-options compile=None')
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(
    torch.cuda.is_available(), reason='checks the error without a GPU')
def test_amp_optim_wrapper_in_a_config_without_gpu_is_an_error(
        tiny_config, tmp_path):
    config = tmp_path / 'configs' / 'my_amp.py'
    config.parent.mkdir()
    config.write_text(f'_base_ = [{str(tiny_config)!r}]\n'
                      "optim_wrapper = dict(type='AmpOptimWrapper', "
                      "loss_scale='dynamic')\n")
    run_dir = tmp_path / 'run'
    run_dir.mkdir()
    for args in ([config], [
            tiny_config, '--cfg-options', 'optim_wrapper.type=AmpOptimWrapper'
    ]):
        proc = run_tool([TOOLS / 'train.py', *args], cwd=run_dir, check=False)
        assert_refused(
            proc, 2, "train.py: error: optim_wrapper.type='AmpOptimWrapper': "
            'mixed precision needs a GPU (CUDA, NPU, MLU or MUSA) and '
            'none was found; use a plain OptimWrapper')
        assert list(run_dir.iterdir()) == []


def test_amp_on_a_gpu_trains_with_amp_optim_wrapper(tiny_config, monkeypatch):
    """The settings --amp gives where a GPU is found (faked here)."""
    from mmsplitmix.utils import load_config, tool_args
    train = load_tool('train.py')
    monkeypatch.setattr(tool_args, 'amp_device_available', lambda: True)

    def merged(*argv):
        args = train.build_parser().parse_args([str(tiny_config), *argv])
        cfg = train.merge_args(load_config(str(tiny_config)), args)
        tool_args.check_train_settings(cfg)
        return cfg.optim_wrapper

    assert 'type' not in merged()  # fp32 unless asked
    wrapper = merged('--amp')
    assert (wrapper.type, wrapper.loss_scale) == ('AmpOptimWrapper', 'dynamic')
    wrapper = merged('--amp', '--cfg-options', 'optim_wrapper.dtype=bfloat16',
                     'optim_wrapper.loss_scale=512')
    assert (wrapper.type, wrapper.dtype,
            wrapper.loss_scale) == ('AmpOptimWrapper', 'bfloat16', 512)


def test_channels_last_and_compile_train_the_same_model(
        trained_work_dir, tiny_config, tmp_path):
    proc = run_tool([
        TOOLS / 'train.py', tiny_config, '--work-dir', tmp_path,
        '--channels-last', '--compile'
    ])
    output = proc.stdout + proc.stderr
    assert 'channels-last memory format' in output
    assert 'SplitMixer is compiled for training' in output
    assert 'Model has been "compiled"' not in output  # not mmengine's way
    # the same function: the same weights up to float rounding
    reference = state_dict(Path(trained_work_dir['work_dir']) / 'epoch_3.pth')
    for key, value in state_dict(tmp_path / 'epoch_3.pth').items():
        torch.testing.assert_close(
            value.float(),
            reference[key].float(),
            rtol=1e-3,
            atol=1e-4,
            msg=key)


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
    user_config = tmp_path / 'my_splitmixer.py'
    user_config.write_text(paper_base_config(tiny_data))
    work_dir = tmp_path / 'work'
    run_tool([
        TOOLS / 'train.py', user_config, '--work-dir', work_dir,
        '--auto-scale-lr'
    ])
    assert checkpoints_in(work_dir)[-1] == 'epoch_2.pth'
    proc = run_tool([
        TOOLS / 'test.py', user_config, work_dir / 'epoch_2.pth', '--work-dir',
        work_dir
    ])
    assert re.search(r'accuracy/top1: [0-9.]+', proc.stdout)


# ---------------------------------------------------------------------------
# Reliability: crash-safe saves, resume fallback, exact resumption with
# augmenting workers, refused mixes, clear errors.

# The quick start's checkpoint settings: one epoch checkpoint kept, and the
# best checkpoint, whose save rewrites the epoch's checkpoint.
QUICKSTART_CHECKPOINTS = (
    "default_hooks = dict(checkpoint=dict(max_keep_ckpts=1, "
    "save_best='auto'))\n")


def assert_same_weights(path, reference_path):
    weights = state_dict(path)
    reference = state_dict(reference_path)
    assert weights.keys() == reference.keys()
    for name, value in reference.items():
        assert torch.equal(weights[name], value), name


def epoch_checkpoints(work_dir):
    return [p for p in checkpoints_in(work_dir) if p.startswith('epoch_')]


def last_checkpoint_of(work_dir):
    return (Path(work_dir) / 'last_checkpoint').read_text()


@pytest.mark.parametrize(
    'fault_file, nth, kept',
    [
        # The save_best rewrite of epoch 1's checkpoint, the only one then.
        (r'\.?epoch_1\.pth', 2, ['epoch_1.pth']),
        # Epoch 2's checkpoint, with max_keep_ckpts=1.
        (r'\.?epoch_2\.pth', 1, ['epoch_1.pth']),
        # The second update of last_checkpoint.
        (r'\.?last_checkpoint', 2, ['epoch_1.pth']),
    ],
    ids=['epoch_1_rewrite', 'epoch_2', 'last_checkpoint'])
def test_kill_during_a_save_keeps_a_resumable_checkpoint(
        trained_work_dir, tiny_config, tmp_path, fault_file, nth, kept):
    config = derived_config(
        tmp_path,
        tiny_config,
        QUICKSTART_CHECKPOINTS,
        imports=['tests.test_tools.save_faults'])
    work_dir = tmp_path / 'work'
    env = tool_env(
        SAVE_FAULT='kill', SAVE_FAULT_FILE=fault_file, SAVE_FAULT_NTH=str(nth))
    proc = run_tool([TOOLS / 'train.py', config, '--work-dir', work_dir],
                    env=env,
                    check=False)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-3000:]
    assert epoch_checkpoints(work_dir) == kept
    # Every checkpoint left loads, and last_checkpoint names one of them.
    assert last_checkpoint_of(work_dir) == str(work_dir / kept[-1])
    for name in kept:
        assert state_dict(work_dir / name)
    best = glob.glob(str(work_dir / 'best_*.pth'))
    assert len(best) == 1 and state_dict(best[0])

    resumed = run_tool(
        [TOOLS / 'train.py', config, '--work-dir', work_dir, '--resume'],
        env=tool_env())
    output = resumed.stdout + resumed.stderr
    assert 'resumed epoch: 1' in output
    assert epoch_checkpoints(work_dir) == ['epoch_3.pth']
    assert not [p for p in os.listdir(work_dir) if p.endswith('.tmp')]
    assert_same_weights(work_dir / 'epoch_3.pth',
                        Path(trained_work_dir['work_dir']) / 'epoch_3.pth')


def test_full_disk_during_a_save_is_an_error_naming_the_file(
        trained_work_dir, tiny_config, tmp_path):
    config = derived_config(
        tmp_path,
        tiny_config,
        QUICKSTART_CHECKPOINTS,
        imports=['tests.test_tools.save_faults'])
    work_dir = tmp_path / 'work'
    env = tool_env(SAVE_FAULT='enospc', SAVE_FAULT_FILE=r'\.?epoch_2\.pth')
    proc = run_tool([TOOLS / 'train.py', config, '--work-dir', work_dir],
                    env=env,
                    check=False)
    target = work_dir / 'epoch_2.pth'
    assert_refused(
        proc, 1, f'CheckpointSaveError: Could not write checkpoint '
        f'{str(target)!r}: no space left on the device')
    # The earlier checkpoints are intact, no partial file is left.
    assert epoch_checkpoints(work_dir) == ['epoch_1.pth']
    assert len(glob.glob(str(work_dir / 'best_*.pth'))) == 1
    assert not [p for p in os.listdir(work_dir) if p.endswith('.tmp')]
    assert last_checkpoint_of(work_dir) == str(work_dir / 'epoch_1.pth')
    assert state_dict(work_dir / 'epoch_1.pth')

    resumed = run_tool(
        [TOOLS / 'train.py', config, '--work-dir', work_dir, '--resume'],
        env=tool_env())
    assert 'resumed epoch: 1' in resumed.stdout + resumed.stderr
    assert_same_weights(work_dir / 'epoch_3.pth',
                        Path(trained_work_dir['work_dir']) / 'epoch_3.pth')


def copy_run(trained_work_dir, target):
    """A copy of the trained run's checkpoints, pointing at the copy."""
    source = Path(trained_work_dir['work_dir'])
    target.mkdir()
    for name in checkpoints_in(source):
        shutil.copy(source / name, target / name)
    (target / 'last_checkpoint').write_text(str(target / 'epoch_3.pth'))
    return target


def test_resume_falls_back_to_the_newest_readable_checkpoint(
        trained_work_dir, tiny_config, tmp_path):
    work_dir = copy_run(trained_work_dir, tmp_path / 'work')
    newest = work_dir / 'epoch_3.pth'
    newest.write_bytes(newest.read_bytes()[:1000])  # truncated by a crash
    proc = run_tool(
        [TOOLS / 'train.py', tiny_config, '--work-dir', work_dir, '--resume'])
    output = proc.stdout + proc.stderr
    assert (f'--resume: skipping checkpoint {str(newest)!r}, which cannot '
            'be resumed from') in output
    assert 'is truncated' in output
    assert f"--resume: resuming from {str(work_dir / 'epoch_2.pth')!r}" in (
        output)
    assert 'resumed epoch: 2' in output
    assert last_checkpoint_of(work_dir) == str(newest)
    assert_same_weights(newest,
                        Path(trained_work_dir['work_dir']) / 'epoch_3.pth')


def test_resume_in_an_empty_work_dir_says_it_starts_from_scratch(
        tiny_config, tmp_path):
    work_dir = tmp_path / 'empty'
    proc = run_tool([
        TOOLS / 'train.py', tiny_config, '--work-dir', work_dir, '--resume',
        '--cfg-options', 'train_cfg.max_epochs=1'
    ])
    output = proc.stdout + proc.stderr
    assert (f'--resume: no checkpoint to resume from in work dir '
            f'{str(work_dir)!r}: training starts from scratch.') in output
    assert 'Auto resumed from the latest checkpoint None' not in output
    assert checkpoints_in(work_dir) == ['epoch_1.pth']


def test_a_second_run_into_a_used_work_dir_is_refused_unless_asked(
        trained_work_dir, tiny_config, tmp_path):
    work_dir = copy_run(trained_work_dir, tmp_path / 'work')
    before = {
        name: (work_dir / name).read_bytes()
        for name in checkpoints_in(work_dir)
    }
    proc = run_tool([TOOLS / 'train.py', tiny_config, '--work-dir', work_dir],
                    check=False)
    assert proc.returncode == 2
    assert (f'work dir {str(work_dir)!r} already holds the checkpoints of a '
            'run') in proc.stderr
    assert '--resume' in proc.stderr and '--new-run' in proc.stderr
    assert {
        name: (work_dir / name).read_bytes()
        for name in checkpoints_in(work_dir)
    } == before

    proc = run_tool([
        TOOLS / 'train.py', tiny_config, '--work-dir', work_dir, '--new-run',
        '--cfg-options', 'train_cfg.max_epochs=1'
    ])
    assert '--new-run: the earlier run' in proc.stdout + proc.stderr
    assert checkpoints_in(work_dir) == ['epoch_1.pth']
    assert last_checkpoint_of(work_dir) == str(work_dir / 'epoch_1.pth')
    archived = glob.glob(str(work_dir / 'previous_runs' / '*'))
    assert len(archived) == 1
    assert {
        name: (Path(archived[0]) / name).read_bytes()
        for name in before
    } == before


# The paper's augmentation (scale-1 crop, flip, RandAugment 2 ops at 12 of
# torchvision's 31 levels) with data workers, and no fixed seed, as in the
# paper's configs.
RANDAUGMENT_BASE = (
    REPO_ROOT / 'configs' / '_base_' / 'datasets' / 'pipelines' /
    'torchvision_randaugment.py')


def paper_randaugment():
    """The project's RandAugment of the paper for 32 px images."""
    from mmengine.config import Config

    pipelines = Config.fromfile(RANDAUGMENT_BASE)
    for name in ('torchvision_randaugment_32px', 'torchvision_randaugment'):
        if name in pipelines:
            return pipelines[name].to_dict()
    raise KeyError(f'no RandAugment settings in {RANDAUGMENT_BASE}')


def augmenting_config(base, imports):
    return (f'_base_ = [{str(base)!r}]\n'
            f'custom_imports = dict(imports={imports!r}, '
            'allow_failed_imports=False)\n' + f"""
train_dataloader = dict(
    num_workers=2,
    dataset=dict(pipeline=[
        dict(type='LoadImageFromFile'),
        dict(type='RandomResizedCrop', scale=32, crop_ratio_range=(1.0, 1.0),
             aspect_ratio_range=(1.0, 1.0)),
        dict(type='RandomFlip', prob=0.5, direction='horizontal'),
        {paper_randaugment()!r},
        dict(type='PackInputs'),
    ]))
randomness = dict(seed=None)
""")


def test_resume_with_augmentation_and_workers_is_bit_exact(
        tiny_config, tmp_path):
    config = tmp_path / 'augmenting.py'
    config.write_text(augmenting_config(tiny_config, ['mmsplitmix']))
    marker = tmp_path / 'paused'
    pausing = tmp_path / 'augmenting_pausing.py'
    pausing.write_text(
        augmenting_config(tiny_config,
                          ['mmsplitmix', 'tests.test_tools.pause_hook']) +
        f'custom_hooks = [dict(type="PauseAfterFirstEpochHook", '
        f'marker={str(marker)!r})]\n')
    work_dir = tmp_path / 'killed'
    train_until_paused([TOOLS / 'train.py', pausing, '--work-dir', work_dir],
                       marker, tmp_path / 'killed.log', tool_env())
    # The run drew its seed at random; the uninterrupted reference uses it.
    seed = load_checkpoint_file(str(work_dir / 'epoch_1.pth'))['meta']['seed']
    reference = tmp_path / 'uninterrupted'
    run_tool([
        TOOLS / 'train.py', config, '--work-dir', reference, '--cfg-options',
        f'randomness.seed={seed}'
    ],
             env=tool_env())
    resumed = run_tool(
        [TOOLS / 'train.py', config, '--work-dir', work_dir, '--resume'],
        env=tool_env())
    assert 'resumed epoch: 1' in resumed.stdout + resumed.stderr
    weights = state_dict(work_dir / 'epoch_3.pth')
    expected = state_dict(reference / 'epoch_3.pth')
    differing = [
        name for name, value in expected.items()
        if not torch.equal(weights[name], value)
    ]
    assert differing == [], f'{len(differing)} of {len(expected)} differ'
    # The augmentation is random: epoch 1's checkpoints of two seeds differ.
    other = tmp_path / 'other_seed'
    run_tool([
        TOOLS / 'train.py', config, '--work-dir', other, '--cfg-options',
        f'randomness.seed={seed + 1}', 'train_cfg.max_epochs=1'
    ],
             env=tool_env())
    assert not torch.equal(
        state_dict(other / 'epoch_1.pth')['backbone.stem.0.weight'],
        state_dict(reference / 'epoch_1.pth')['backbone.stem.0.weight'])


def test_augmentation_is_the_same_with_any_number_of_workers(
        tiny_config, tmp_path):
    config = tmp_path / 'augmenting.py'
    config.write_text(augmenting_config(tiny_config, ['mmsplitmix']))
    runs = {
        # Two workers that persist from epoch to epoch (the default) and
        # one that restarts at each epoch.
        'persistent': ([], 2),
        'restarting': (['--no-persistent-workers'], 1),
    }
    weights = {}
    for name, (flags, workers) in runs.items():
        proc = run_tool([
            TOOLS / 'train.py', config, '--work-dir', tmp_path / name, *flags,
            '--cfg-options', f'train_dataloader.num_workers={workers}',
            'randomness.seed=7', 'train_cfg.max_epochs=2'
        ],
                        env=tool_env())
        assert 'cannot be seeded one by one' not in proc.stdout + proc.stderr
        weights[name] = state_dict(tmp_path / name / 'epoch_2.pth')
    differing = [
        name for name, value in weights['restarting'].items()
        if not torch.equal(weights['persistent'][name], value)
    ]
    assert differing == []


@pytest.mark.parametrize(
    'setting',
    [
        # each sample drawn many times in a run without epochs
        'train_dataloader = dict(num_workers=1)\n'
        'train_cfg = dict(_delete_=True, type="IterBasedTrainLoop", '
        'max_iters=2, val_interval=100)\n'
        'default_hooks = dict(checkpoint=dict(by_epoch=False))\n',
        # each sample drawn three times an epoch, to be augmented three ways
        'train_dataloader = dict(num_workers=1, sampler=dict(_delete_=True, '
        'type="RepeatAugSampler", shuffle=True))\n'
        'train_cfg = dict(max_epochs=1)\n',
    ],
    ids=['iteration-based', 'repeated-augmentation'])
def test_workers_not_seeded_by_sample_warn_if_persistent(
        tiny_config, tmp_path, setting):
    config = derived_config(tmp_path, tiny_config, setting)
    proc = run_tool(
        [TOOLS / 'train.py', config, '--work-dir', tmp_path / 'work'],
        env=tool_env())
    output = ' '.join((proc.stdout + proc.stderr).split())
    assert ('train_dataloader.persistent_workers=True: the training samples '
            'cannot be seeded one by one here') in output
    assert '--no-persistent-workers' in output


def test_data_workers_compute_with_one_thread_each(tiny_config, tmp_path):
    probe_dir = tmp_path / 'probes'
    probe_dir.mkdir()
    config = derived_config(
        tmp_path,
        tiny_config,
        'train_dataloader = dict(num_workers=2, dataset=dict(pipeline=['
        "dict(type='LoadImageFromFile'), "
        f"dict(type='RecordThreads', out_dir={str(probe_dir)!r}), "
        "dict(type='PackInputs')]))\n"
        'train_cfg = dict(max_epochs=1)\n',
        imports=['tests.test_tools.thread_probe'])
    env = tool_env()
    for name in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS'):
        env.pop(name)
    proc = run_tool(
        [TOOLS / 'train.py', config, '--work-dir', tmp_path / 'work'], env=env)
    records = [json.loads(p.read_text()) for p in probe_dir.glob('*.json')]
    assert len(records) == 2  # one per worker
    for record in records:
        assert record == dict(
            torch_threads=1, cv2_threads=1, omp_env='1', mkl_env='1')
    cpus = len(os.sched_getaffinity(0))
    expected = max(1, cpus - 2)
    assert (f'CPU threads: {expected} in the main process ({cpus} CPUs, 2 '
            'data workers), 1 per data worker.') in proc.stdout + proc.stderr


def test_val_split_missing_a_class_folder_is_refused(tiny_data, tiny_config,
                                                     tmp_path):
    val_root = tmp_path / 'val'
    for name in ('blue', 'red'):  # 'green' has no images in this split
        shutil.copytree(Path(tiny_data) / name, val_root / name)
    config = derived_config(
        tmp_path, tiny_config,
        f'val_dataloader = dict(dataset=dict(data_root={str(val_root)!r}))\n')
    work_dir = tmp_path / 'work'
    proc = run_tool([TOOLS / 'train.py', config, '--work-dir', work_dir],
                    check=False)
    assert_refused(
        proc, 1, "SplitClassesError: val_dataloader.dataset has other classes "
        "than train_dataloader.dataset (missing ['green'])")
    assert not glob.glob(str(work_dir / '*.pth'))

    # An empty folder for the class keeps every label right: accepted.
    (val_root / 'green').mkdir()
    proc = run_tool([
        TOOLS / 'train.py', config, '--work-dir', work_dir, '--cfg-options',
        'train_cfg.max_epochs=1'
    ])
    assert 'Found no valid file in the folder green' in (proc.stdout +
                                                         proc.stderr)
    assert re.search(r'Epoch\(val\) \[1\]\[2/2\]\s+accuracy/top1',
                     proc.stdout + proc.stderr)


def test_load_from_with_another_head_says_what_it_skipped(
        trained_work_dir, tiny_config, tmp_path):
    """Fine-tuning a checkpoint whose head scores 4 classes on the 3 of
    the data: every weight but the head's loads."""
    trained = torch.load(
        Path(trained_work_dir['work_dir']) / 'epoch_3.pth', weights_only=False)
    state_dict = trained['state_dict']
    state_dict['head.fc.weight'] = torch.zeros(4, 16)
    state_dict['head.fc.bias'] = torch.zeros(4)
    checkpoint = tmp_path / 'four_classes.pth'
    torch.save(dict(meta=dict(epoch=3), state_dict=state_dict), checkpoint)
    config = derived_config(
        tmp_path, tiny_config, f'load_from = {str(checkpoint)!r}\n'
        'train_cfg = dict(max_epochs=1)\n'
        'val_dataloader = None\nval_cfg = None\nval_evaluator = None\n')
    proc = run_tool(
        [TOOLS / 'train.py', config, '--work-dir', tmp_path / 'work'])
    output = proc.stdout + proc.stderr
    assert (f"load_from {str(checkpoint)!r}: 49 of the model's 51 tensors "
            'loaded, the others keep their initialisation: 2 of another '
            'shape: head.fc.weight (checkpoint [4, 16], model [3, 16]); '
            'head.fc.bias (checkpoint [4], model [3]).') in output


def test_head_for_another_number_of_classes_than_the_data_is_refused(
        tiny_config, tmp_path):
    config = derived_config(tmp_path, tiny_config,
                            'model = dict(head=dict(num_classes=4))\n')
    work_dir = tmp_path / 'work'
    proc = run_tool([TOOLS / 'train.py', config, '--work-dir', work_dir],
                    check=False)
    assert_refused(
        proc, 1,
        'SplitClassesError: train_dataloader.dataset has 3 classes but '
        'model.head.num_classes is 4')
    assert not glob.glob(str(work_dir / '**' / '*.pth'), recursive=True)


def test_missing_or_damaged_cifar_files_are_named_in_one_line(tmp_path):
    """The paper's CIFAR-10 config on files that are not the official
    release, then on a folder without the dataset."""
    write_cifar10 = load_tool(
        'analysis_tools/train_throughput.py').write_cifar10
    folder = write_cifar10(tmp_path / 'cifar10', num_images=10)
    config = REPO_ROOT / 'configs' / 'splitmixer' / \
        'splitmixer-i-256-8_1xb512_cifar10.py'
    expected = [
        (folder.parent, 'CorruptDatasetError',
         f'{folder / "data_batch_1"}, {folder / "data_batch_2"}'),
        (tmp_path / 'nowhere', 'DatasetNotFoundError',
         'Nothing is downloaded'),
    ]
    for root, error, detail in expected:
        work_dir = tmp_path / f'work_{error}'
        proc = run_tool([
            TOOLS / 'train.py', config, '--work-dir', work_dir,
            '--cfg-options', f'train_dataloader.dataset.data_root={root}',
            f'val_dataloader.dataset.data_root={root}'
        ],
                        check=False)
        assert_refused(proc, 1, f'{error}: LocalCIFAR10: ', detail)
        assert 'download=True' not in proc.stderr


def test_resume_with_a_longer_schedule_is_refused(tiny_config, tmp_path):
    """Extending a finished run by resuming with a larger max_epochs would
    train the extra epochs at the restored schedule's final learning rate,
    0 for the paper's schedule."""
    config = derived_config(
        tmp_path, tiny_config, 'param_scheduler = dict(_delete_=True, '
        "type='PiecewiseLinearLR', points=[(0, 0), (0.4, 1), (0.8, 0.05), "
        '(1, 0)], by_epoch=True, convert_to_iter_based=True)\n'
        'train_cfg = dict(max_epochs=1)\n')
    work_dir = tmp_path / 'work'
    run_tool([TOOLS / 'train.py', config, '--work-dir', work_dir])
    proc = run_tool([
        TOOLS / 'train.py', config, '--work-dir', work_dir, '--resume',
        '--cfg-options', 'train_cfg.max_epochs=2'
    ],
                    check=False)
    assert_refused(
        proc, 1, 'resumes a PiecewiseLinearLR over the steps [0, 3), but this '
        'config schedules it over [0, 6)')
    assert checkpoints_in(work_dir) == ['epoch_1.pth']


@pytest.mark.parametrize('option,expected', [
    ('default_hooks.checkpoint.intervall=2',
     "ConfigError: default_hooks.checkpoint has unknown arguments "
     "['intervall']"),
    ('train_cfg.max_epoch=3', "--cfg-options train_cfg.max_epoch=3: "
     "EpochBasedTrainLoop.__init__() got an unexpected keyword argument "
     "'max_epoch'. No such setting there"),
    ('optim_wrapper.optimizer.momentun=0.8',
     '--cfg-options optim_wrapper.optimizer.momentun=0.8: SGD.__init__() '
     "got an unexpected keyword argument 'momentun'. No such setting there"),
    ('model.backbone.depht=3', '--cfg-options model.backbone.depht=3: '
     "SplitMixer.__init__() got an unexpected keyword argument 'depht'. No "
     'such setting there'),
])
def test_misspelt_setting_fails_before_training_in_one_line(
        tiny_config, tmp_path, option, expected):
    """A misspelt argument of the checkpoint hook (checked by the hook
    itself), or any misspelt key that reaches a constructor."""
    work_dir = tmp_path / 'work'
    proc = run_tool([
        TOOLS / 'train.py', tiny_config, '--work-dir', work_dir,
        '--cfg-options', option
    ],
                    check=False)
    assert_refused(proc, 1, f'train.py: error: {expected}')
    assert 'Epoch(train)' not in proc.stdout + proc.stderr


def test_unclear_inputs_give_errors_naming_them(tiny_config, tmp_path):
    base = tmp_path / 'broken_base.py'
    base.write_text('model = dict(\n    type="ImageClassifier",\n')
    config = tmp_path / 'child.py'
    config.write_text(f'_base_ = [{str(base)!r}]\n')
    proc = run_tool([TOOLS / 'train.py', config], check=False)
    assert_refused(proc, 2,
                   f'config file {str(base)!r} has a syntax error at line 1',
                   f'(a base of {str(config)!r})')

    work_dir = tmp_path / 'work'
    proc = run_tool([
        TOOLS / 'train.py', tiny_config, '--work-dir', work_dir,
        '--cfg-options', 'train_cfg.max_epochs'
    ],
                    check=False)
    assert_refused(
        proc, 2,
        "--cfg-options: 'train_cfg.max_epochs' is not a KEY=VALUE pair")

    proc = run_tool([
        TOOLS / 'train.py', tiny_config, '--work-dir', work_dir,
        '--cfg-options', 'train_cfg.max_epochs=-1'
    ],
                    check=False)
    assert proc.returncode == 2
    assert 'train_cfg.max_epochs must be a positive int, got -1' in (
        proc.stderr)
    assert not work_dir.exists()
