"""train_throughput.py on the CPU with tiny sizes: the generated CIFAR-10
files, the three measurements and the report (never the speeds
themselves)."""
import json
import pickle
import runpy
import sys

import numpy as np
import pytest

from tests.test_tools.tools_testing import REPO_ROOT, load_tool, run_tool

TOOL = REPO_ROOT / 'tools' / 'analysis_tools' / 'train_throughput.py'
# A small SplitMixer in the paper's recipe, so that the CPU run is quick.
TINY_MODEL = [
    'model.backbone.arch.embed_dims=16', 'model.backbone.arch.depth=2',
    'model.head.in_channels=16'
]

train_throughput = load_tool('analysis_tools/train_throughput.py')


def test_generated_cifar10_has_the_real_layout(tmp_path):
    from mmpretrain.datasets.categories import CIFAR10_CATEGORIES
    from mmpretrain.registry import DATASETS

    folder = train_throughput.write_cifar10(tmp_path, 103)
    assert folder == tmp_path / 'cifar-10-batches-py'
    assert sorted(p.name for p in folder.iterdir()) == [
        'batches.meta', 'data_batch_1', 'data_batch_2', 'data_batch_3',
        'data_batch_4', 'data_batch_5', 'test_batch'
    ]
    sizes = []
    for name in train_throughput.TRAIN_FILES + ('test_batch', ):
        with open(folder / name, 'rb') as f:
            entry = pickle.load(f, encoding='latin1')
        assert set(entry) == {'batch_label', 'labels', 'data', 'filenames'}
        assert entry['data'].dtype == np.uint8
        assert entry['data'].shape == (len(entry['labels']), 3072)
        assert len(entry['filenames']) == len(entry['labels'])
        assert all(0 <= label < 10 for label in entry['labels'])
        sizes.append(len(entry['labels']))
    assert sizes == [21, 21, 21, 20, 20, 20]
    with open(folder / 'batches.meta', 'rb') as f:
        meta = pickle.load(f, encoding='latin1')
    assert meta['label_names'] == list(CIFAR10_CATEGORIES)
    assert train_throughput.cifar10_present(tmp_path)

    # Read back as the configs read CIFAR-10 (RGB images), md5s aside.
    import mmsplitmix  # noqa: F401
    train_throughput.register_generated_dataset()
    dataset = DATASETS.build(
        dict(
            type=train_throughput.GENERATED_DATASET,
            data_root=str(tmp_path),
            split='train',
            pipeline=[]))
    assert len(dataset) == 103
    with open(folder / 'data_batch_1', 'rb') as f:
        first = pickle.load(f, encoding='latin1')
    rgb = first['data'][0].reshape(3, 32, 32).transpose(1, 2, 0)
    np.testing.assert_array_equal(dataset[0]['img'], rgb)
    assert dataset[0]['gt_label'] == first['labels'][0]
    test_set = DATASETS.build(
        dict(
            type=train_throughput.GENERATED_DATASET,
            data_root=str(tmp_path),
            split='test',
            pipeline=[]))
    assert len(test_set) == 20


def test_incomplete_dataset_is_named(tmp_path):
    assert not train_throughput.cifar10_present(tmp_path)
    folder = train_throughput.write_cifar10(tmp_path, 10)
    (folder / 'data_batch_3').unlink()
    with pytest.raises(FileNotFoundError, match='data_batch_3 missing'):
        train_throughput.cifar10_present(tmp_path)


def test_summary():
    rates = dict(training_loop=900.0, data_pipeline=1000.0, model=4000.0)
    summary = train_throughput.summarize(rates, 100)
    assert summary['bottleneck'] == 'data pipeline'
    assert summary['bottleneck_factor'] == pytest.approx(4.0)
    assert summary['loop_efficiency'] == pytest.approx(0.9)
    assert summary['schedule_images'] == 5000000
    assert summary['implied_seconds']['training_loop'] == pytest.approx(
        5000000 / 900)
    summary = train_throughput.summarize(
        dict(training_loop=90.0, data_pipeline=300.0, model=100.0), 10)
    assert summary['bottleneck'] == 'model'
    assert summary['bottleneck_factor'] == pytest.approx(3.0)
    assert summary['implied_seconds']['model'] == pytest.approx(5000)


@pytest.mark.slow
def test_measures_the_paper_recipe_end_to_end(tmp_path):
    out = tmp_path / 'throughput.json'
    data_root = tmp_path / 'data'
    work_dir = tmp_path / 'work'
    proc = run_tool([
        TOOL, '--num-images', 60, '--batch-size', 8, '--warmup', 1, '--iters',
        3, '--num-workers', 1, '--data-root', data_root, '--work-dir',
        work_dir, '--out', out, '--cfg-options'
    ] + TINY_MODEL)
    result = json.loads(out.read_text())
    settings = result['settings']
    assert settings['config'].endswith('splitmixer-i-256-8_1xb512_cifar10.py')
    assert settings['device'] == 'cpu'
    assert settings['precision'] == 'fp32'  # without --amp
    assert (settings['batch_size'], settings['num_workers'],
            settings['dataset_images'], settings['warmup'],
            settings['iters']) == (8, 1, 60, 1, 3)
    rates, seconds = result['images_per_second'], result['seconds']
    for name in ('training_loop', 'data_pipeline', 'model'):
        # 3 timed iterations of 8 images each
        assert rates[name] * seconds[name] == pytest.approx(24)
    summary = result['summary']
    slower = min(('data_pipeline', 'model'), key=rates.get)
    assert summary['bottleneck'] == slower.replace('_', ' ')
    assert summary['schedule_epochs'] == 100
    assert summary['implied_seconds']['training_loop'] == pytest.approx(
        100 * 50000 / rates['training_loop'])

    report = proc.stdout
    assert settings['train_flags'] == []
    assert ('fp32 (train.py flags: none); batch 8, dataloader workers 1, 60 '
            'training images') in report
    for row in ('| whole training loop |', '| data pipeline alone |',
                '| model alone (fixed batch) |'):
        assert row in report
    assert f"Bottleneck: the {summary['bottleneck']}" in report
    # the warm-up is timed from the start of training, and reported
    assert seconds['loop_warmup'] > 0
    assert (f"Warm-up: the loop's first 1 iterations took "
            f"{seconds['loop_warmup']:.1f} s") in report
    # The dataset was generated where asked, and training used it with the
    # config's pipeline (RandAugment included).
    assert train_throughput.cifar10_present(data_root)
    logs = list(work_dir.glob('*/*.log'))
    assert len(logs) == 1
    log = logs[0].read_text()
    assert 'RandAugment' in log and 'GeneratedCIFAR10' in log


def test_bad_arguments_fail_before_anything_is_written(tiny_config, tmp_path,
                                                       monkeypatch):
    import mmengine.device
    monkeypatch.setattr(mmengine.device, 'get_device', lambda: 'cpu')
    data_root = tmp_path / 'data'
    base = ['--data-root', str(data_root)]
    a_file = tmp_path / 'file'
    a_file.write_text('')
    cases = [
        ([str(tmp_path / 'missing.py')], FileNotFoundError,
         'config file not found'),
        (['--num-images', '0'], ValueError, '--num-images must be >= 1'),
        (['--warmup', '0'], ValueError, '--warmup must be >= 1'),
        (['--num-workers', '-1'], ValueError, '--num-workers must be >= 0'),
        (['--work-dir',
          str(a_file)], NotADirectoryError, '--work-dir must be a directory'),
        (['--out', str(tmp_path / 'no' / 'x.json')], FileNotFoundError,
         r"--out '.*x\.json': its folder '.*no' does not exist"),
        ([str(tiny_config)], ValueError,
         "trains on 'CustomDataset'; this tool generates CIFAR-10"),
        (['--amp'], ValueError,
         '--amp: mixed precision needs a GPU and none was found; drop --amp '
         'to measure in full precision'),
    ]
    for args, error, message in cases:
        with pytest.raises(error, match=message):
            train_throughput.main(args + base)
    with pytest.raises(NotADirectoryError, match='--data-root must be'):
        train_throughput.main(['--data-root', str(a_file)])
    assert not data_root.exists()
    # run as a script, the tool ends with one line
    monkeypatch.setattr(sys, 'argv', [str(TOOL), '--iters', '0'])
    with pytest.raises(SystemExit) as info:
        runpy.run_path(str(TOOL), run_name='__main__')
    assert info.value.code == 'error: --iters must be >= 1, got 0'


def test_amp_trains_as_train_py_amp(tmp_path, monkeypatch):
    """--amp gives the optimizer wrapper of tools/train.py --amp (a GPU is
    faked here); without it the paper's recipe trains in fp32."""
    import mmengine.device
    monkeypatch.setattr(mmengine.device, 'get_device', lambda: 'cuda')
    for argv, wrapper_type in (([], None), (['--amp'], 'AmpOptimWrapper')):
        args = train_throughput.parse_args(argv)
        cfg = train_throughput.prepare_config(
            train_throughput.check_args(args), args, tmp_path / 'data',
            tmp_path / 'work')
        assert cfg.optim_wrapper.get('type') == wrapper_type
        assert cfg.optim_wrapper.get('loss_scale') == ('dynamic' if
                                                       wrapper_type else None)
    assert not (tmp_path / 'work').exists()


def test_speed_flags_train_as_train_py(tmp_path):
    """--channels-last and --compile set the model up as tools/train.py's
    flags of the same names."""
    args = train_throughput.parse_args(['--channels-last', '--compile'])
    cfg = train_throughput.prepare_config(
        train_throughput.check_args(args), args, tmp_path / 'data',
        tmp_path / 'work')
    assert not cfg.get('compile')  # the backbone, not mmengine's train_step
    hooks = [hook['type'].split('.')[-1] for hook in cfg.custom_hooks]
    assert 'ChannelsLastHook' in hooks and 'CompiledBackboneHook' in hooks
    assert train_throughput.train_flags(args) == [
        '--channels-last', '--compile'
    ]
    assert not (tmp_path / 'work').exists()


@pytest.mark.parametrize('argv, persistent', [
    (['--num-workers', '2'], True),
    (['--num-workers', '2', '--no-persistent-workers'], False),
    (['--num-workers', '0'], False),
])
def test_workers_persist_as_in_train_py(tmp_path, argv, persistent):
    """The training loader keeps its workers from epoch to epoch, as
    tools/train.py's does, unless --no-persistent-workers says otherwise."""
    args = train_throughput.parse_args(argv)
    cfg = train_throughput.prepare_config(
        train_throughput.check_args(args), args, tmp_path / 'data',
        tmp_path / 'work')
    assert cfg.train_dataloader.persistent_workers is persistent
    # Recorded in the results as a train.py flag.
    assert train_throughput.train_flags(args) == [
        flag for flag in argv if flag == '--no-persistent-workers'
    ]
