"""tools/test.py and tools/slurm_test.sh from the command line, on CPUs."""
import json
import os
import pickle
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from tests.test_tools.tools_testing import (CLASSES, IMAGES_PER_CLASS, TOOLS,
                                            assert_refused, free_port,
                                            load_tool, run_launcher, run_tool,
                                            tool_env)


@pytest.fixture(scope='module')
def checkpoint(tiny_config, tmp_path_factory):
    """A checkpoint of the tiny config (trained in this process)."""
    work_dir = tmp_path_factory.mktemp('trained')
    cfg = Config.fromfile(str(tiny_config))
    cfg.work_dir = str(work_dir)
    cfg.experiment_name = 'test_test_checkpoint'
    cfg.train_cfg.max_epochs = 2
    Runner.from_cfg(cfg).train()
    return work_dir / 'epoch_2.pth'


def test_predictions_and_drawings(tiny_config, checkpoint, tmp_path):
    """--out dumps a prediction per image; --show-dir draws each under its
    path in the dataset, so images of the same name in different class
    folders do not overwrite each other."""
    proc = run_tool([
        TOOLS / 'test.py', tiny_config, checkpoint, '--work-dir',
        tmp_path / 'work', '--out', tmp_path / 'preds.pkl', '--show-dir',
        tmp_path / 'shown'
    ])
    assert 'accuracy/top1' in proc.stdout + proc.stderr
    with open(tmp_path / 'preds.pkl', 'rb') as f:
        predictions = pickle.load(f)
    assert len(predictions) == len(CLASSES) * IMAGES_PER_CLASS
    assert {'pred_label', 'gt_label'} <= set(predictions[0])
    for name in CLASSES:
        assert (tmp_path / 'shown' / name / '0.png_0.png').is_file()


def test_tta_and_metrics_file(tiny_config, checkpoint, tmp_path):
    metrics = tmp_path / 'metrics.json'
    run_tool([
        TOOLS / 'test.py', tiny_config, checkpoint, '--work-dir', tmp_path,
        '--tta', '--out', metrics, '--out-item', 'metrics'
    ])
    assert 0 <= json.loads(metrics.read_text())['accuracy/top1'] <= 100


def test_options_reach_the_config(tiny_config, checkpoint):
    tool = load_tool('test.py')
    cfg = Config.fromfile(str(tiny_config))
    args = tool.parse_args([
        str(tiny_config),
        str(checkpoint), '--channels-last', '--compile', '--cfg-options',
        'test_dataloader.batch_size=4'
    ])[1]
    tool.merge_args(cfg, args)
    assert cfg.load_from == str(checkpoint) and not cfg.resume
    assert cfg.custom_hooks[-2:] == [
        dict(type='mmpretrain.ChannelsLastHook'),
        dict(type='mmpretrain.FastInferenceHook', deploy=False, compile=True)
    ]
    assert cfg.test_dataloader.batch_size == 4
    assert not cfg.test_dataloader.pin_memory
    if not torch.cuda.is_available():
        args.amp = True
        with pytest.raises(ValueError, match='--amp: mixed precision needs'):
            tool.merge_args(cfg, args)


def test_inputs_are_refused_before_anything_runs(tiny_config, checkpoint,
                                                 tmp_path):
    for argv, message in [
        ([tiny_config, tmp_path / 'no.pth'], 'checkpoint not found'),
        ([tiny_config, checkpoint, '--out-item', 'metrics'], 'needs --out'),
        ([tiny_config, checkpoint, '--out',
          tmp_path / 'no' / 'p.pkl'], 'its folder does not exist'),
        ([tiny_config, checkpoint, '--out', tmp_path / 'p.json'], '.pkl'),
        ([tiny_config, checkpoint, '--tta', '--show-dir',
          tmp_path], '--tta cannot go with --show'),
    ]:
        assert_refused(
            run_tool([TOOLS / 'test.py', *argv], check=False), 2, message)


def test_a_checkpoint_that_does_not_fit_is_refused_in_one_line(
        tiny_config, checkpoint, tmp_path):
    assert_refused(
        run_tool([
            TOOLS / 'test.py', tiny_config, checkpoint, '--work-dir', tmp_path,
            '--cfg-options', 'model.backbone.mixer_setting=II'
        ],
                 check=False), 1, 'CheckpointMismatchError',
        "mixer_setting='I'")


@pytest.mark.slow
def test_slurm_test_sh_runs_on_cpus(tiny_config, checkpoint, tmp_path):
    """A one-task slurm job on this machine: a stand-in ``srun`` first on
    ``PATH`` sets the variables a real job step sets and runs the task."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    (bin_dir / 'srun').write_text(f'''#!/usr/bin/env bash
while [ $# -gt 0 ]; do case "$1" in -p) shift 2 ;; -*) shift ;; *) break ;;
esac; done
export SLURM_PROCID=0 SLURM_NTASKS=1 SLURM_LOCALID=0 SLURM_NODELIST=n1
export MASTER_ADDR=127.0.0.1 MASTER_PORT={free_port()}
exec "$@"
''')
    (bin_dir / 'srun').chmod(0o755)
    env = tool_env(GPUS='1', GPUS_PER_NODE='1', PYTHON=sys.executable)
    env['PATH'] = f'{bin_dir}{os.pathsep}{env["PATH"]}'
    output = run_launcher([
        TOOLS / 'slurm_test.sh', 'partition', 'job', tiny_config, checkpoint,
        '--work-dir', tmp_path
    ], env)
    assert 'accuracy/top1' in output
