"""benchmark.py on tiny models: table, JSON and chart contents (never the
timings themselves)."""
import json
from pathlib import Path

import pytest
import torch

from tests.test_tools.tools_testing import load_tool, run_tool

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / 'tools' / 'analysis_tools' / 'benchmark.py'

benchmark = load_tool('analysis_tools/benchmark.py')
throughput = load_tool('analysis_tools/throughput.py')

TINY = """
custom_imports = dict(imports=['mmsplitmix'], allow_failed_imports=False)
model = dict(
    type='ImageClassifier',
    backbone=dict(type='{backbone}', arch=dict(embed_dims=16, depth=2,
                  patch_size=2, kernel_size=3){extra}),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=4, in_channels=16))
test_dataloader = dict(dataset=dict(type='CIFAR10', data_root='data',
                       pipeline=[dict(type='PackInputs')]))
"""


@pytest.fixture
def tiny_configs(tmp_path):
    paths = []
    for name, backbone, extra in [
        ('tiny-convmixer_cifar10', 'ConvMixer', ''),
        ('tiny-splitmixer-i_cifar10', 'SplitMixer', ", mixer_setting='I'"),
    ]:
        path = tmp_path / f'{name}.py'
        path.write_text(TINY.format(backbone=backbone, extra=extra))
        paths.append(str(path))
    return paths


def test_table_json_and_plot(tiny_configs, tmp_path, capsys):
    out, plot = tmp_path / 'speed.json', tmp_path / 'speed.png'
    results = benchmark.main(tiny_configs + [
        '--batch-size', '4', '--shape', '16', '--warmup', '1', '--repeats',
        '2', '--device', 'cpu', '--reference', '--modes', 'eager',
        'channels_last', 'deploy', '--out',
        str(out), '--plot',
        str(plot)
    ])
    printed = capsys.readouterr().out
    names = [
        'tiny-convmixer', 'tiny-splitmixer-i', 'tiny-splitmixer-i (reference)'
    ]
    assert [r['name'] for r in results] == names
    lines = printed.splitlines()
    best = lines.index('Each model at its best mode:')
    modes_table = [line for line in lines[:best] if line.startswith('| ')]
    table = [line for line in lines[best:] if line.startswith('| ')]
    assert modes_table[0].startswith('| Model | Mode | Inference (img/s)')
    # ConvMixer has no deploy form; deploy modes have no training step
    assert [row.split(' | ')[:2] for row in modes_table[1:]
            ] == [['| tiny-convmixer', 'eager'],
                  ['| tiny-convmixer', 'channels_last'],
                  ['| tiny-splitmixer-i', 'eager'],
                  ['| tiny-splitmixer-i', 'channels_last'],
                  ['| tiny-splitmixer-i', 'deploy'],
                  ['| tiny-splitmixer-i (reference)', 'eager'],
                  ['| tiny-splitmixer-i (reference)', 'channels_last'],
                  ['| tiny-splitmixer-i (reference)', 'deploy']]
    assert modes_table[5].split(' | ')[3] == '-'
    assert table[0].startswith('| Model | Input | Batch | Params | FLOPs')
    assert [row.split(' | ')[0][2:] for row in table[1:]] == names
    assert all('| 16x16 | 4 |' in row for row in table[1:])
    assert table[1].endswith('| 1.00x | 1.00x |')

    data = json.loads(out.read_text())
    assert data['settings']['device'] == 'cpu'
    assert data['settings']['repeats'] == 2
    assert data['settings']['modes'] == ['eager', 'channels_last', 'deploy']
    assert not data['settings']['amp']
    assert data['settings']['cudnn_benchmark'] is False  # on GPUs only
    rows = data['results']
    assert [r['name'] for r in rows] == names
    assert [r['reference'] for r in rows] == [False, False, True]
    measurements = data['measurements']
    assert len(measurements) == 8
    for row in rows:
        assert row['input_shape'] == [3, 16, 16] and row['batch_size'] == 4
        for kind in ('inference', 'training'):
            # the best mode is the fastest of the model's measurements
            own = [
                m for m in measurements
                if m['name'] == row['name'] and m[kind] is not None
            ]
            fastest = max(own, key=lambda m: m[kind])
            assert row[kind] == fastest[kind] > 0
            assert row[f'{kind}_mode'] == fastest['mode']
            assert row[kind] == pytest.approx(4 / row[f'{kind}_time'])
            assert row[f'{kind}_compile_time'] == max(
                0.0, fastest[f'{kind}_first_time'] - fastest[f'{kind}_time'])
            assert row[f'{kind}_speedup'] == pytest.approx(row[kind] /
                                                           rows[0][kind])
        assert row['training_mode'] != 'deploy'
    # the reference formulation is the same network
    assert rows[1]['params'] == rows[2]['params']
    assert rows[1]['flops'] == rows[2]['flops']
    assert rows[0]['params'] > rows[1]['params']
    assert plot.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


def test_compile_modes(tiny_configs, capsys):
    results = benchmark.main(tiny_configs[1:] + [
        '--batch-size', '2', '--shape', '8', '--warmup', '0', '--repeats', '1',
        '--device', 'cpu', '--modes', 'compile', 'deploy+compile'
    ])
    printed = capsys.readouterr().out
    assert '| tiny-splitmixer-i | compile |' in printed
    assert '| tiny-splitmixer-i | deploy+compile |' in printed
    (row, ) = results
    assert row['training_mode'] == 'compile'
    assert row['inference_mode'] in ('compile', 'deploy+compile')


def test_sweep_models():
    models = benchmark.sweep_models('32')
    names = [name for name, _, _ in models]
    assert names[0] == 'convmixer-256-8'
    assert len(models) == 1 + 5 + 5 + 3 + 4
    assert 'splitmixer-i-256-8 (ratio 6/11)' in names
    assert 'splitmixer-iii-256-8 (8 segments)' in names
    assert all(shape == (3, 32, 32) for _, _, shape in models)
    backbone = {
        name: model
        for name, model, _ in models
    }['splitmixer-ii-256-8 (6 segments)'].backbone
    assert backbone.num_segments == 6 and backbone.patch_size == 2
    _, model, shape = benchmark.sweep_models('224')[1]
    assert shape == (3, 224, 224)
    assert model.backbone.kernel_size == 7 and model.backbone.ratio == 2 / 3
    args = benchmark.parse_args(['--sweep', '32', '--modes', 'eager'])
    assert benchmark.resolve_configs(args) == []


def test_defaults_from_configs(tiny_configs):
    args = benchmark.parse_args(tiny_configs[1:])
    cases, infos = benchmark.build_cases(tiny_configs[1:], args)
    # CIFAR test pipeline: native 32 px, and the paper's batch at 32 px
    info = infos['tiny-splitmixer-i']
    assert info['input_shape'] == [3, 32, 32]
    assert info['batch_size'] == 512
    assert benchmark.default_batch_size((3, 224, 224)) == 64
    # every mode by default
    assert [case.mode for case in cases] == list(benchmark.MODES)


def test_paper_set_exists():
    root = benchmark.configs_root()
    for name in benchmark.PAPER_CONFIGS:
        assert (root / name).is_file(), name
    args = benchmark.parse_args(['--paper'])
    paths = benchmark.resolve_configs(args)
    assert len(paths) == 10


def test_errors(tiny_configs, tmp_path):
    with pytest.raises(ValueError, match='no configs given'):
        benchmark.main([])
    with pytest.raises(ValueError, match='not several'):
        benchmark.main(tiny_configs + ['--paper'])
    with pytest.raises(ValueError, match='not several'):
        benchmark.main(['--paper', '--sweep', '224'])
    with pytest.raises(ValueError, match='--shape cannot'):
        benchmark.main(['--sweep', '32', '--shape', '16'])
    with pytest.raises(FileNotFoundError, match='missing.py'):
        benchmark.main([str(tmp_path / 'missing.py')])
    with pytest.raises(ValueError, match='needs --device cuda'):
        benchmark.main(tiny_configs + ['--device', 'cpu', '--amp'])
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match='CUDA is not available'):
            benchmark.main(tiny_configs + ['--device', 'cuda'])
    with pytest.raises(ValueError, match='--repeats'):
        benchmark.main(tiny_configs + ['--device', 'cpu', '--repeats', '0'])
    with pytest.raises(FileNotFoundError, match='--out'):
        benchmark.main(
            tiny_configs +
            ['--device', 'cpu', '--out',
             str(tmp_path / 'no' / 'x.json')])


def test_script(tiny_configs):
    proc = run_tool([
        TOOL, tiny_configs[1], '--batch-size', '2', '--shape', '8', '--warmup',
        '0', '--repeats', '1', '--device', 'cpu', '--modes', 'eager', 'deploy'
    ],
                    cwd=ROOT)
    assert '| tiny-splitmixer-i | 8x8 | 2 |' in proc.stdout
    assert '| tiny-splitmixer-i | deploy |' in proc.stdout
    proc = run_tool([TOOL, tiny_configs[1], '--device', 'cpu', '--amp'],
                    cwd=ROOT,
                    check=False)
    assert proc.returncode != 0
    assert 'error: --amp' in proc.stderr


def test_profile(tiny_configs, capsys):
    benchmark.main(tiny_configs[1:] + [
        '--batch-size', '2', '--shape', '8', '--warmup', '0', '--repeats', '1',
        '--device', 'cpu', '--modes', 'channels_last', 'deploy', '--profile'
    ])
    printed = capsys.readouterr().out
    assert 'Operators of tiny-splitmixer-i, channels_last, training' in printed
    assert 'Operators of tiny-splitmixer-i, deploy, inference' in printed
    assert 'Operators of tiny-splitmixer-i, deploy, training' not in printed
    section = printed.split('deploy, inference')[1]
    assert 'aten::gelu' in section


@pytest.mark.parametrize('device, during', [('cpu', False), ('cuda', True)])
def test_cudnn_autotuner_is_on_while_measuring_on_a_gpu(device, during):
    assert torch.backends.cudnn.benchmark is False
    with throughput.cudnn_autotuned(torch.device(device)):
        assert torch.backends.cudnn.benchmark is during
    assert torch.backends.cudnn.benchmark is False
