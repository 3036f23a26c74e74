"""End-to-end tests of tools/test.py, dist_test.sh and slurm_test.sh on the
CPU, and of loading the tools' checkpoints elsewhere (get_model, mim)."""
import json
import pickle
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import mmsplitmix  # noqa: F401  (SplitMixer)
from tests.test_tools.tools_testing import (CLASSES, IMAGES_PER_CLASS, TOOLS,
                                            assert_refused, derived_config,
                                            free_port, load_tool, run_launcher,
                                            run_tool, slurm_stand_in, tool_env)


def final_val_accuracy(trained_work_dir):
    values = re.findall(r'accuracy/top1: ([0-9.]+)',
                        trained_work_dir['output'])
    return float(values[-1])


def printed_accuracy(stdout):
    match = re.search(r'Test metrics:\naccuracy/top1: ([0-9.]+)', stdout)
    assert match, stdout[-3000:]
    return float(match.group(1))


def test_test_prints_metrics_and_dumps_predictions(trained_work_dir,
                                                   tiny_config, tmp_path):
    checkpoint = Path(trained_work_dir['work_dir']) / 'epoch_3.pth'
    out = tmp_path / 'predictions.pkl'
    proc = run_tool([
        TOOLS / 'test.py', tiny_config, checkpoint, '--work-dir', tmp_path,
        '--out', out
    ])
    # The test set is the validation set of training: same accuracy.
    assert printed_accuracy(proc.stdout) == pytest.approx(
        final_val_accuracy(trained_work_dir), abs=1e-4)
    with open(out, 'rb') as f:
        predictions = pickle.load(f)
    assert len(predictions) == 24
    assert {'pred_label', 'pred_score', 'gt_label'} <= set(predictions[0])
    assert predictions[0]['pred_score'].shape == (3, )


def test_dist_test_sh_two_cpu_processes_dump_metrics(trained_work_dir,
                                                     tiny_config, tmp_path):
    checkpoint = Path(trained_work_dir['work_dir']) / 'epoch_3.pth'
    out = tmp_path / 'metrics.json'
    env = tool_env()
    env['PORT'] = str(free_port())
    env['PYTHON'] = sys.executable
    output = run_launcher([
        TOOLS / 'dist_test.sh', tiny_config, checkpoint, '2', '--work-dir',
        tmp_path, '--out-item', 'metrics', '--out', out
    ], env)
    if not torch.cuda.is_available():
        assert 'with gloo (rank 1 of 2)' in output
    metrics = json.loads(out.read_text())
    assert metrics['accuracy/top1'] == pytest.approx(
        final_val_accuracy(trained_work_dir), abs=1e-4)
    # Printed once, by rank 0.
    assert output.count('Test metrics:') == 1


def test_slurm_test_sh_runs_one_task_with_the_slurm_launcher(
        trained_work_dir, tiny_config, tmp_path):
    """A stand-in ``srun`` records its options and runs the command as a
    one-task slurm job step would."""
    env, record = slurm_stand_in(tmp_path)
    checkpoint = Path(trained_work_dir['work_dir']) / 'epoch_3.pth'
    output = run_launcher([
        TOOLS / 'slurm_test.sh', 'debug', 'tiny-test', tiny_config, checkpoint,
        '--work-dir', tmp_path
    ], env)
    srun_args = record.read_text().split()
    assert srun_args[:2] == ['-p', 'debug']
    for option in ('--job-name=tiny-test', '--ntasks=1', '--ntasks-per-node=1',
                   '--cpus-per-task=2', '--launcher=slurm'):
        assert option in srun_args
    assert 'Distributed launcher: slurm' in output
    assert printed_accuracy(output) == pytest.approx(
        final_val_accuracy(trained_work_dir), abs=1e-4)


class _CreatesMarker:
    """Unpickling this object would create a file (if allowed to run)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, 'w'))


def test_checkpoint_that_runs_code_is_refused(trained_work_dir, tiny_config,
                                              tmp_path):
    marker = tmp_path / 'code_ran'
    checkpoint = tmp_path / 'malicious.pth'
    real = torch.load(
        Path(trained_work_dir['work_dir']) / 'epoch_3.pth', weights_only=False)
    real['meta']['note'] = _CreatesMarker(str(marker))
    torch.save(real, checkpoint)
    proc = run_tool(
        [TOOLS / 'test.py', tiny_config, checkpoint, '--work-dir', tmp_path],
        check=False)
    assert proc.returncode != 0
    assert 'UnsafeCheckpointError' in proc.stderr
    assert f'Refused to load checkpoint {str(checkpoint)!r}' in proc.stderr
    assert 'MMSPLITMIX_TRUSTED_CHECKPOINTS=1' in proc.stderr
    assert not marker.exists()
    assert 'Test metrics:' not in proc.stdout


def test_bad_arguments_fail_early_naming_the_path(trained_work_dir,
                                                  tiny_config, tmp_path):
    missing = tmp_path / 'missing.pth'
    proc = run_tool([TOOLS / 'test.py', tiny_config, missing], check=False)
    assert proc.returncode == 2
    assert f'checkpoint file not found: {str(missing)!r}' in proc.stderr

    checkpoint = Path(trained_work_dir['work_dir']) / 'epoch_3.pth'
    proc = run_tool([
        TOOLS / 'test.py', tiny_config, checkpoint, '--out',
        tmp_path / 'predictions.json'
    ],
                    check=False)
    assert proc.returncode == 2
    assert 'predictions.json' in proc.stderr
    assert "must end with one of ('.pkl', '.pickle')" in proc.stderr

    proc = run_tool([TOOLS / 'test.py', tmp_path / 'nope.py', checkpoint],
                    check=False)
    assert proc.returncode == 2
    assert 'config file not found' in proc.stderr

    # the dump's folder is checked before the test runs
    out = tmp_path / 'no_such_folder' / 'metrics.json'
    proc = run_tool([
        TOOLS / 'test.py', tiny_config, checkpoint, '--out', out, '--out-item',
        'metrics'
    ],
                    check=False)
    assert proc.returncode == 2
    assert (f"--out {str(out)!r}: its folder "
            f"{str(out.parent)!r} does not exist") in proc.stderr

    # no evaluator: nothing to report
    proc = run_tool([
        TOOLS / 'test.py', tiny_config, checkpoint, '--cfg-options',
        'test_evaluator=[]'
    ],
                    check=False)
    assert proc.returncode == 2
    assert 'is empty: the test would compute no metrics' in proc.stderr
    assert 'Test metrics:' not in proc.stdout


@pytest.mark.skipif(
    torch.cuda.is_available(), reason='checks the error without a GPU')
def test_amp_without_gpu_is_an_error_that_writes_nothing(
        trained_work_dir, tiny_config, tmp_path):
    checkpoint = Path(trained_work_dir['work_dir']) / 'epoch_3.pth'
    proc = run_tool([TOOLS / 'test.py', tiny_config, checkpoint, '--amp'],
                    cwd=tmp_path,
                    check=False)
    assert_refused(proc, 2)
    assert proc.stderr.rstrip().endswith(
        'test.py: error: --amp: mixed precision needs a GPU (CUDA, NPU, MLU '
        'or MUSA) and none was found; drop --amp to test in full precision '
        '(fp32)')
    assert 'Test metrics:' not in proc.stdout
    assert list(tmp_path.iterdir()) == []  # no work_dirs/tiny_splitmixer


def test_amp_on_a_gpu_tests_in_fp16(tiny_config, tmp_path, monkeypatch):
    """The setting --amp gives where a GPU is found (faked here)."""
    from mmsplitmix.utils import load_config, tool_args
    test = load_tool('test.py')
    monkeypatch.setattr(tool_args, 'amp_device_available', lambda: True)
    checkpoint = tmp_path / 'any.pth'
    for argv, fp16 in (([], False), (['--amp'], True)):
        args = test.build_parser().parse_args(
            [str(tiny_config), str(checkpoint), *argv])
        cfg = test.merge_args(load_config(str(tiny_config)), args)
        assert cfg.test_cfg.get('fp16', False) is fp16


def fast_inference_hooks(cfg):
    return [
        dict(hook) for hook in cfg.custom_hooks
        if hook['type'].endswith('FastInferenceHook')
    ]


@pytest.mark.parametrize('listed,argv,expected', [
    (None, ['--compile'], dict(deploy=False, compile=True)),
    (None, ['--deploy'], dict(deploy=True, compile=False)),
    (dict(deploy=False), ['--deploy'], dict(deploy=True)),
    (dict(deploy=False, compile=dict(mode='max-autotune')), [
        '--deploy', '--compile'
    ], dict(deploy=True, compile=dict(mode='max-autotune'))),
    (dict(compile=True), [], dict(compile=True)),
])
def test_deploy_and_compile_flags_switch_on_a_listed_hook(
        tiny_config, tmp_path, listed, argv, expected):
    """--deploy and --compile switch their option on, also on a
    FastInferenceHook the config lists, whose other options stay."""
    from mmsplitmix.utils import load_config
    test = load_tool('test.py')
    cfg = load_config(str(tiny_config))
    if listed is not None:
        cfg.custom_hooks = list(cfg.get('custom_hooks') or []) + [
            dict(type='FastInferenceHook', **listed)
        ]
    args = test.build_parser().parse_args(
        [str(tiny_config), str(tmp_path / 'any.pth'), *argv])
    cfg = test.merge_args(cfg, args)
    assert fast_inference_hooks(cfg) == [
        dict(type='FastInferenceHook', **expected)
    ]


def test_get_model_loads_a_training_checkpoint(trained_work_dir, tiny_config):
    from mmpretrain import get_model

    from mmsplitmix.utils import safe_checkpoint_loading

    checkpoint = Path(trained_work_dir['work_dir']) / 'epoch_3.pth'
    with safe_checkpoint_loading():
        model = get_model(str(tiny_config), pretrained=str(checkpoint))
    expected = torch.load(checkpoint, weights_only=False)['state_dict']
    for name, value in model.state_dict().items():
        assert torch.equal(value, expected[name]), name
    assert model._dataset_meta['classes'] == ('blue', 'green', 'red')


def _mim():
    return shutil.which('mim')


@pytest.mark.skipif(
    _mim() is None,
    reason='openmim is not installed (it pins old setuptools/requests; '
    'install it separately to run this test)')
def test_mim_train_and_test(tiny_config, tmp_path):
    """mim runs the tools of the *installed* package (a regular install;
    mim 0.3.9 cannot locate packages installed in PEP 660 editable mode)."""
    env = tool_env()
    env.pop('PYTHONPATH')
    work_dir = tmp_path / 'work'
    proc = subprocess.run([
        _mim(), 'train', 'mmsplitmix', tiny_config, '--work-dir', work_dir,
        '--cfg-options', 'train_cfg.max_epochs=1'
    ],
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=240)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]
    checkpoint = work_dir / 'epoch_1.pth'
    assert checkpoint.is_file()
    proc = subprocess.run([
        _mim(), 'test', 'mmsplitmix', tiny_config, '--checkpoint', checkpoint,
        '--work-dir', work_dir
    ],
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=240)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]
    assert 'Test metrics:' in proc.stdout


def test_tool_help_suits_mim():
    """mim adds ``--device cpu`` to a training command whose help mentions
    ``--gpus``, which our tools do not take; the help also documents the
    trusted-checkpoint opt-in."""
    for tool in ('train.py', 'test.py'):
        proc = run_tool([TOOLS / tool, '-h'])
        assert '--gpus' not in proc.stdout
        assert 'MMSPLITMIX_TRUSTED_CHECKPOINTS=1' in proc.stdout
        assert '--trust-checkpoint' in proc.stdout


def refused_test_run(tiny_config, checkpoint, work_dir, *options):
    """Run tools/test.py, which must stop with exit code 1 and a one-line
    error before printing any metric; returns its stderr."""
    proc = run_tool([
        TOOLS / 'test.py', tiny_config, checkpoint, '--work-dir', work_dir,
        *options
    ],
                    check=False)
    assert_refused(proc, 1)
    assert 'Test metrics:' not in proc.stdout
    return proc.stderr


def test_checkpoint_of_another_model_is_refused(tiny_config, tmp_path):
    """A ConvMixer checkpoint on a SplitMixer config: the test stops and
    lists what does not fit, instead of printing a chance accuracy."""
    from mmpretrain.registry import MODELS

    convmixer = MODELS.build(
        dict(
            type='ImageClassifier',
            backbone=dict(
                type='ConvMixer',
                arch=dict(embed_dims=16, depth=2, patch_size=4,
                          kernel_size=3)),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='LinearClsHead', num_classes=3, in_channels=16)))
    checkpoint = tmp_path / 'convmixer.pth'
    torch.save(
        dict(meta=dict(epoch=1), state_dict=convmixer.state_dict()),
        checkpoint)
    stderr = refused_test_run(tiny_config, checkpoint, tmp_path)
    assert (f'CheckpointMismatchError: Checkpoint {str(checkpoint)!r} does '
            'not fit the model of the config (ImageClassifier): 2 of another '
            'shape: backbone.stages.0.0.fn.0.weight (checkpoint [16, 1, 3, '
            '3], model [16, 1, 1, 3])') in stderr
    assert 'missing from the checkpoint: backbone.stages.0.0.fn.3.weight' in (
        stderr)
    assert ('4 in the checkpoint but not in the model: '
            'backbone.stages.0.1.weight') in stderr


@pytest.mark.parametrize('options', [[], ['--tta']])
def test_checkpoint_of_another_mixer_setting_is_refused(
        trained_work_dir, tiny_config, tmp_path, options):
    """The config saved in the checkpoint names the setting it was trained
    with (settings II and III have weights of the same names and shapes,
    so the weights alone cannot tell them apart); with --tta, the model
    test-time augmentation wraps is compared."""
    trained = Path(trained_work_dir['work_dir']) / 'epoch_3.pth'
    saved = torch.load(trained, weights_only=False)
    assert "mixer_setting='I'" in saved['meta']['cfg']
    saved['meta']['cfg'] = saved['meta']['cfg'].replace(
        "mixer_setting='I'", "mixer_setting='III'")
    checkpoint = tmp_path / 'setting_iii.pth'
    torch.save(saved, checkpoint)
    stderr = refused_test_run(tiny_config, checkpoint, tmp_path, *options)
    assert (f'CheckpointMismatchError: Checkpoint {str(checkpoint)!r} was '
            "trained with backbone mixer_setting='III' (the config saved in "
            "it), but the model of this config has mixer_setting='I'") in (
                stderr)


def test_test_split_with_fewer_classes_than_the_head_is_refused(
        trained_work_dir, tiny_config, tiny_data, tmp_path):
    """A checkpoint without a class list (converted, or a bare state dict)
    cannot name the missing class; the head's size still shows it."""
    test_root = tmp_path / 'test_split'
    for name in ('green', 'red'):
        shutil.copytree(Path(tiny_data) / name, test_root / name)
    trained = Path(trained_work_dir['work_dir']) / 'epoch_3.pth'
    checkpoint = tmp_path / 'weights_only.pth'
    torch.save(
        dict(state_dict=torch.load(trained, weights_only=False)['state_dict']),
        checkpoint)
    stderr = refused_test_run(
        tiny_config, checkpoint, tmp_path, '--cfg-options',
        f'test_dataloader.dataset.data_root={test_root}')
    assert ('SplitClassesError: test_dataloader.dataset has 2 classes but '
            'model.head.num_classes is 3') in stderr


def test_test_split_without_a_class_of_the_checkpoint_is_refused(
        trained_work_dir, tiny_config, tiny_data, tmp_path):
    test_root = tmp_path / 'test_split'
    for name in ('green', 'red'):  # no 'blue' images in this split
        shutil.copytree(Path(tiny_data) / name, test_root / name)
    checkpoint = Path(trained_work_dir['work_dir']) / 'epoch_3.pth'
    stderr = refused_test_run(
        tiny_config, checkpoint, tmp_path, '--cfg-options',
        f'test_dataloader.dataset.data_root={test_root}')
    assert ('SplitClassesError: test_dataloader.dataset has other classes '
            f"than checkpoint {str(checkpoint)!r} (missing ['blue'])") in (
                stderr)


def test_work_dir_that_is_a_file_is_a_clear_error(trained_work_dir,
                                                  tiny_config, tmp_path):
    not_a_dir = tmp_path / 'file.txt'
    not_a_dir.write_text('x')
    checkpoint = Path(trained_work_dir['work_dir']) / 'epoch_3.pth'
    proc = run_tool(
        [TOOLS / 'test.py', tiny_config, checkpoint, '--work-dir', not_a_dir],
        check=False)
    assert_refused(
        proc, 2, f'--work-dir must be a directory, got the file '
        f'{str(not_a_dir)!r}')
    assert not_a_dir.read_text() == 'x'


def test_deploy_channels_last_and_compile_give_the_same_results(
        trained_work_dir, tiny_config, tmp_path):
    checkpoint = Path(trained_work_dir['work_dir']) / 'epoch_3.pth'
    outputs = {}
    for name, flags in (('plain', []),
                        ('fast', ['--deploy', '--channels-last',
                                  '--compile'])):
        proc = run_tool([
            TOOLS /
            'test.py', tiny_config, checkpoint, '--work-dir', tmp_path /
            name, '--out', tmp_path / f'{name}.pkl'
        ] + flags)
        outputs[name] = proc.stdout + proc.stderr
        assert printed_accuracy(proc.stdout) == pytest.approx(
            final_val_accuracy(trained_work_dir), abs=1e-4)
    assert 'The model runs in its deploy form.' in outputs['fast']
    assert 'channels-last memory format' in outputs['fast']
    assert 'SplitMixer is compiled' in outputs['fast']
    assert 'deploy form' not in outputs['plain']
    predictions = {}
    for name in outputs:
        with open(tmp_path / f'{name}.pkl', 'rb') as f:
            predictions[name] = pickle.load(f)
    for fast, plain in zip(predictions['fast'], predictions['plain']):
        torch.testing.assert_close(
            fast['pred_score'], plain['pred_score'], rtol=1e-4, atol=1e-5)


def dumped_scores(path):
    with open(path, 'rb') as f:
        return torch.stack([sample['pred_score'] for sample in pickle.load(f)])


def test_tta_averages_the_scores_of_each_image_and_its_flip(
        trained_work_dir, tiny_config, tmp_path):
    """--tta through the channels-last deploy form: the hooks and checks
    reach the model inside mmpretrain's test-time augmentation wrapper."""
    checkpoint = Path(trained_work_dir['work_dir']) / 'epoch_3.pth'
    flipping = derived_config(
        tmp_path, tiny_config, 'test_dataloader = dict(dataset=dict('
        "pipeline=[dict(type='LoadImageFromFile'), "
        "dict(type='RandomFlip', prob=1.0), dict(type='PackInputs')]))\n")
    runs = [('plain', tiny_config, []), ('flipped', flipping, []),
            ('tta', tiny_config, ['--tta', '--deploy', '--channels-last'])]
    for name, config, options in runs:
        proc = run_tool([
            TOOLS / 'test.py', config, checkpoint, '--work-dir',
            tmp_path / name, '--out', tmp_path / f'{name}.pkl', *options
        ])
    assert 'The model runs in its deploy form.' in proc.stdout + proc.stderr
    plain, flipped, tta = (dumped_scores(tmp_path / f'{name}.pkl')
                           for name, _, _ in runs)
    assert not torch.allclose(plain, flipped)
    torch.testing.assert_close(
        tta, (plain + flipped) / 2, rtol=1e-4, atol=1e-5)


def test_tta_keeps_the_weights_check(trained_work_dir, tiny_config, tmp_path):
    """The weights are compared with the model that test-time augmentation
    wraps (the saved config too: see the mixer-setting test)."""
    trained = Path(trained_work_dir['work_dir']) / 'epoch_3.pth'
    saved = torch.load(trained, weights_only=False)
    del saved['state_dict']['head.fc.bias']
    no_bias = tmp_path / 'no_bias.pth'
    torch.save(saved, no_bias)
    stderr = refused_test_run(tiny_config, no_bias, tmp_path, '--tta')
    assert ('does not fit the model of the config (ImageClassifier): 1 '
            'missing from the checkpoint: head.fc.bias') in stderr


def draw_predictions(trained_work_dir, tiny_config, tmp_path, *options):
    """Run test.py --show-dir on the tiny run's last checkpoint, with
    mmpretrain's VisualizationHook in the config; returns the process, the
    folder drawn into and the drawings' paths in it, sorted."""
    checkpoint = Path(trained_work_dir['work_dir']) / 'epoch_3.pth'
    drawing = derived_config(
        tmp_path, tiny_config,
        "default_hooks = dict(visualization=dict(type='VisualizationHook'))\n"
        "visualizer = dict(type='UniversalVisualizer')\n")
    shown = tmp_path / 'shown'
    proc = run_tool([
        TOOLS / 'test.py', drawing, checkpoint, '--work-dir',
        tmp_path / 'work', '--show-dir', shown, *options
    ])
    drawn = sorted(
        path.relative_to(shown).as_posix() for path in shown.rglob('*.png'))
    return proc, shown, drawn


def test_show_dir_saves_the_predictions_drawn(trained_work_dir, tiny_config,
                                              tmp_path):
    import cv2
    proc, shown, drawn = draw_predictions(trained_work_dir, tiny_config,
                                          tmp_path, '--interval', '5')
    assert printed_accuracy(proc.stdout) == pytest.approx(
        final_val_accuracy(trained_work_dir), abs=1e-4)
    # samples 0, 5, 10, 15 and 20, under their class folders
    assert drawn == [
        'blue/0.png_0.png', 'blue/5.png_0.png', 'green/2.png_0.png',
        'green/7.png_0.png', 'red/4.png_0.png'
    ]
    image = cv2.imread(str(shown / drawn[0]))
    assert image is not None and image.shape[0] >= 32


def test_show_dir_keeps_images_of_the_same_name_apart(trained_work_dir,
                                                      tiny_config, tmp_path):
    """Every class folder has a 0.png: each drawing has a file of its own,
    which shows that image (each class's images are of its own colour)."""
    import cv2
    _, shown, drawn = draw_predictions(trained_work_dir, tiny_config, tmp_path)
    assert len(drawn) == len(CLASSES) * IMAGES_PER_CLASS
    for channel, name in enumerate(CLASSES):  # red, green, blue
        image = cv2.imread(str(shown / name / '0.png_0.png'))
        means = image[..., ::-1].reshape(-1, 3).mean(axis=0)  # BGR to RGB
        assert means.argmax() == channel, (name, means)


@pytest.mark.parametrize('options,message', [
    (['--tta', '--show-dir', 'shown'
      ], '--tta cannot go with --show or --show-dir'),
    (['--show', '--interval', '0'
      ], '--interval must be a positive integer, got 0'),
    (['--show', '--wait-time', '-1'
      ], '--wait-time must be 0 or more seconds, got -1.0'),
    (['--show-dir', 'a_file'
      ], "--show-dir must be a directory, got the file 'a_file'"),
    (['--show-dir', 'shown'
      ], '--show and --show-dir need a visualization hook in config'),
])
def test_tta_and_show_options_are_checked_before_testing(
        trained_work_dir, tiny_config, tmp_path, options, message):
    (tmp_path / 'a_file').write_text('x')
    checkpoint = Path(trained_work_dir['work_dir']) / 'epoch_3.pth'
    proc = run_tool([TOOLS / 'test.py', tiny_config, checkpoint, *options],
                    cwd=tmp_path,
                    check=False)
    assert_refused(proc, 2, message)
    assert sorted(path.name for path in tmp_path.iterdir()) == ['a_file']


def test_flip_tta_pipeline_flips_before_packing():
    test = load_tool('test.py')
    load = dict(type='LoadImageFromFile')
    pack = dict(type='PackInputs', algorithm_keys=['flip'])
    pipeline = test.flip_tta_pipeline([load, pack], 'a.py')
    assert pipeline == [
        load,
        dict(
            type='TestTimeAug',
            transforms=[[
                dict(type='RandomFlip', prob=1.),
                dict(type='RandomFlip', prob=0.)
            ], [pack]])
    ]
    for unpacked, last in (([load], "'LoadImageFromFile'"), ([], 'None'),
                           (['LoadImageFromFile'], "'LoadImageFromFile'")):
        with pytest.raises(ValueError) as info:
            test.flip_tta_pipeline(unpacked, 'a.py')
        assert ("--tta: the test pipeline of config 'a.py' ends with "
                f'{last}, not PackInputs') in str(info.value)
