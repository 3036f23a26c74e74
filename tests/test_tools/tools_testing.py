"""Helpers for the command-line tool tests.

Everything runs on generated data: three classes of 32 x 32 images whose
colour depends on the class, laid out as image folders for mmpretrain's
``CustomDataset``, and a tiny SplitMixer (16 channels, 2 blocks).
"""
import importlib.util
import os
import os.path as osp
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOLS = REPO_ROOT / 'tools'
CLASSES = ('red', 'green', 'blue')
IMAGES_PER_CLASS = 8

# A tiny SplitMixer on the image folders of ``{root}``, with this project's
# runtime (every guarantee hook) and random augmentation.
TINY_CONFIG = '''
_base_ = [{runtime!r}]

model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='SplitMixer',
        arch=dict(embed_dims=16, depth=2, patch_size=4, kernel_size=3),
        mixer_setting='I'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=3,
        in_channels=16,
        loss=dict(type='CrossEntropyLoss'),
        topk=(1, )))
data_preprocessor = dict(
    num_classes=3, mean=[127.5] * 3, std=[127.5] * 3, to_rgb=True)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=32),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(type='CustomDataset', data_root={root!r},
                 pipeline=train_pipeline, serialize_data=False),
    sampler=dict(type='DefaultSampler', shuffle=True))
val_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(type='CustomDataset', data_root={root!r},
                 pipeline=test_pipeline, serialize_data=False),
    sampler=dict(type='DefaultSampler', shuffle=False))
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_dataloader = val_dataloader
test_evaluator = val_evaluator

optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9))
param_scheduler = dict(type='MultiStepLR', by_epoch=True, milestones=[2])
train_cfg = dict(by_epoch=True, max_epochs=3, val_interval=1)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(
    logger=dict(interval=1), checkpoint=dict(max_keep_ckpts=-1))
env_cfg = dict(cudnn_benchmark=False)
randomness = dict(seed=0, deterministic=True)
'''
RUNTIME = REPO_ROOT / 'configs' / '_base_' / 'default_runtime.py'


def tiny_config_text(root):
    """:data:`TINY_CONFIG` on the image folders of ``root``."""
    return TINY_CONFIG.format(root=str(root), runtime=str(RUNTIME))


def load_tool(relative_path):
    """Import ``tools/<relative_path>`` as a module, once per process.

    The tools are scripts, not a package: a script imports the modules
    beside it by name, since Python puts its folder first on the path. So
    does this, while the module runs its imports; every module of the
    folder is imported once, under its name.
    """
    path = TOOLS / relative_path
    loaded = sys.modules.get(path.stem)
    if loaded is not None and getattr(loaded, '__file__', None) == str(path):
        return loaded
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[path.stem]
        raise
    finally:
        sys.path.remove(str(path.parent))
    return module


def paper_base_config(data_root, extra=''):
    """A user config inheriting the paper's SplitMixer-I model, schedule and
    runtime bases, shrunk to a tiny model on the image folders of
    ``data_root`` for two epochs; ``extra`` is appended."""
    base = REPO_ROOT / 'configs' / '_base_'
    return f'''
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
    dataset=dict(type='CustomDataset', data_root={str(data_root)!r},
                 pipeline=pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True))
val_dataloader = dict(
    batch_size=8, num_workers=0,
    dataset=dict(type='CustomDataset', data_root={str(data_root)!r},
                 pipeline=pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False))
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_dataloader = val_dataloader
test_evaluator = val_evaluator
train_cfg = dict(max_epochs=2)
default_hooks = dict(logger=dict(interval=1))
randomness = dict(seed=0)
''' + extra


def derived_config(tmp_path, base, body, name='derived.py', imports=()):
    """A config inheriting ``base`` with ``body`` appended."""
    path = tmp_path / name
    modules = ['mmsplitmix', *imports]
    path.write_text(f'_base_ = [{str(base)!r}]\n'
                    f'custom_imports = dict(imports={modules!r}, '
                    'allow_failed_imports=False)\n' + body)
    return path


def make_image_folders(root):
    """Write ``IMAGES_PER_CLASS`` noisy single-colour images per class."""
    rng = np.random.default_rng(0)
    for index, name in enumerate(CLASSES):
        folder = Path(root) / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(IMAGES_PER_CLASS):
            image = rng.integers(0, 96, size=(32, 32, 3), dtype=np.uint8)
            image[..., index] += 150
            Image.fromarray(image).save(folder / f'{i}.png')


def tool_env(**overrides):
    """Environment for the tool subprocesses: quiet, one thread each, and
    the repository importable (the project and its test helpers, such as
    the hooks of ``tests.test_tools``), with ``overrides`` set last."""
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(
        [str(REPO_ROOT)] + [p for p in [env.get('PYTHONPATH')] if p])
    env['OMP_NUM_THREADS'] = '1'
    env['MKL_NUM_THREADS'] = '1'
    env['PYTHONWARNINGS'] = 'ignore'
    env.pop('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', None)
    for name in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR',
                 'MASTER_PORT'):
        env.pop(name, None)
    env.update(overrides)
    return env


def run_tool(args, cwd=None, timeout=240, check=True, env=None):
    """Run ``python ARGS`` and return the completed process.

    On an unexpected exit status the output is shown in the failure.
    """
    proc = subprocess.run(
        [sys.executable] + [str(a) for a in args],
        cwd=cwd,
        env=env or tool_env(),
        capture_output=True,
        text=True,
        timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(
            f'{args} exited with {proc.returncode}\n--- stdout ---\n'
            f'{proc.stdout[-6000:]}\n--- stderr ---\n{proc.stderr[-6000:]}')
    return proc


def assert_refused(proc, status, *messages):
    """``proc`` (from :func:`run_tool` with ``check=False``) refused its
    input as a tool should: exit status ``status``, each of ``messages`` in
    its stderr, and no traceback."""
    assert proc.returncode == status, (
        f'exit status {proc.returncode}, expected {status}\n--- stdout ---\n'
        f'{proc.stdout[-3000:]}\n--- stderr ---\n{proc.stderr[-3000:]}')
    for message in messages:
        assert message in proc.stderr
    assert 'Traceback' not in proc.stderr


def run_launcher(args, env, timeout=240):
    """Run ``bash ARGS`` (a launcher script of tools/) with ``env``; return
    its output (stdout, then stderr), shown in the failure if it exits
    with an error."""
    proc = subprocess.run(
        ['bash'] + [str(a) for a in args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    return output


def checkpoints_in(work_dir):
    return sorted(
        p for p in os.listdir(work_dir)
        if p.endswith('.pth') and osp.isfile(osp.join(work_dir, p)))


def free_port():
    """A TCP port of this machine that is free now."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def slurm_stand_in(tmp_path):
    """The environment of a one-task slurm job on this machine: a stand-in
    ``srun`` first on ``PATH`` records its options in the returned file
    and runs the command as a one-task job step would.

    Returns:
        tuple: The tool environment and the path of the recorded options.
    """
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    record = tmp_path / 'srun_args'
    fake_srun = bin_dir / 'srun'
    fake_srun.write_text(f'''#!/usr/bin/env bash
echo "$@" > {record}
while [ $# -gt 0 ]; do
    case "$1" in
        -p) shift 2 ;;
        -*) shift ;;
        *) break ;;
    esac
done
export SLURM_PROCID=0 SLURM_NTASKS=1 SLURM_LOCALID=0 SLURM_NODELIST=localhost
export MASTER_ADDR=127.0.0.1 MASTER_PORT={free_port()}
exec "$@"
''')
    fake_srun.chmod(0o755)
    env = tool_env(
        GPUS='1', GPUS_PER_NODE='1', CPUS_PER_TASK='2', PYTHON=sys.executable)
    env['PATH'] = f'{bin_dir}{os.pathsep}{env["PATH"]}'
    return env, record


def train_until_paused(args, marker, log_path, env, timeout=180):
    """Run ``python ARGS`` (a training run whose config pauses with
    tests/test_tools/pause_hook.py after epoch 1), wait for ``marker`` and
    SIGKILL it. Returns the exit status; the run's output is in
    ``log_path``."""
    with open(log_path, 'w') as log:
        proc = subprocess.Popen(
            [sys.executable] + [str(a) for a in args],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + timeout
            while not Path(marker).exists():
                if proc.poll() is not None:
                    raise AssertionError('training ended before the pause:\n' +
                                         Path(log_path).read_text()[-3000:])
                if time.monotonic() > deadline:
                    raise AssertionError(
                        'training did not reach the end of epoch 1:\n' +
                        Path(log_path).read_text()[-3000:])
                time.sleep(0.1)
            proc.send_signal(signal.SIGKILL)
            return proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
