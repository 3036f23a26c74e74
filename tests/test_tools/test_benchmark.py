"""benchmark.py on tiny models: table, JSON and chart contents (never the
timings themselves)."""
import functools
import json
import runpy
import sys
from pathlib import Path

import pytest
import torch
import torch.nn as nn

from tests.test_tools.tools_testing import load_tool

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / 'tools' / 'analysis_tools' / 'benchmark.py'

benchmark = load_tool('analysis_tools/benchmark.py')
throughput = load_tool('analysis_tools/throughput.py')

SMALL = [
    '--batch-size', '2', '--shape', '8', '--warmup', '0', '--repeats', '1'
]


def test_table_json_and_plot(tiny_configs, tmp_path, capsys):
    out, plot = tmp_path / 'speed.json', tmp_path / 'speed.png'
    results = benchmark.main(tiny_configs[:2] + [
        '--batch-size', '4', '--shape', '16', '--warmup', '1', '--repeats',
        '2', '--device', 'cpu', '--reference', '--modes', 'eager',
        'channels_last', 'deploy', '--out',
        str(out), '--plot',
        str(plot)
    ])
    printed = capsys.readouterr().out
    names = [
        'tiny-convmixer', 'tiny-splitmixer-i',
        'tiny-splitmixer-i (layer by layer)', 'tiny-splitmixer-i (reference)'
    ]
    assert [r['name'] for r in results] == names
    lines = printed.splitlines()
    best = lines.index('Each model at its best mode:')
    modes_table = [line for line in lines[:best] if line.startswith('| ')]
    table = [line for line in lines[best:] if line.startswith('| ')]
    assert modes_table[0].startswith('| Model | Mode | Inference (img/s)')
    # none has a deploy form (see test_profile for a model with one)
    assert [row.split(' | ')[:2] for row in modes_table[1:]
            ] == [['| tiny-convmixer', 'eager'],
                  ['| tiny-convmixer', 'channels_last'],
                  ['| tiny-splitmixer-i', 'eager'],
                  ['| tiny-splitmixer-i', 'channels_last'],
                  ['| tiny-splitmixer-i (layer by layer)', 'eager'],
                  ['| tiny-splitmixer-i (layer by layer)', 'channels_last'],
                  ['| tiny-splitmixer-i (reference)', 'eager'],
                  ['| tiny-splitmixer-i (reference)', 'channels_last']]
    assert table[0].startswith('| Model | Input | Batch | Params | FLOPs')
    assert [row.split(' | ')[0][2:] for row in table[1:]] == names
    assert all('| 16x16 | 4 |' in row for row in table[1:])
    assert table[1].endswith('| 1.00x | 1.00x |')
    # the reference form: same FLOPs as SplitMixer-I, fewer than ConvMixer
    assert float(table[4].split(' | ')[5]) > 1

    data = json.loads(out.read_text())
    assert data['settings']['device'] == 'cpu'
    assert data['settings']['repeats'] == 2
    assert data['settings']['modes'] == ['eager', 'channels_last', 'deploy']
    assert not data['settings']['amp']
    assert data['settings']['cudnn_benchmark'] is False  # on GPUs only
    rows = data['results']
    assert [r['name'] for r in rows] == names
    assert [r['reference'] for r in rows] == [False, False, True, True]
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
    # the layer-by-layer and reference forms are the same network
    for row in rows[2:]:
        assert row['params'] == rows[1]['params']
        assert row['flops'] == rows[1]['flops']
    assert rows[0]['params'] > rows[1]['params']
    assert plot.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


def test_compile_modes(tiny_configs, capsys, monkeypatch):
    """A compiled copy is measured for inference and training. torch.compile
    runs with the aot_eager backend (forward and backward graphs traced,
    no code generated): the benchmark's handling of compiled modes is
    tested here, not inductor's code generation, which takes a minute on
    two cores."""
    monkeypatch.setattr(torch, 'compile',
                        functools.partial(torch.compile, backend='aot_eager'))
    results = benchmark.main(
        tiny_configs[1:2] + SMALL +
        ['--device', 'cpu', '--modes', 'compile', 'deploy+compile'])
    printed = capsys.readouterr().out
    assert '| tiny-splitmixer-i | compile |' in printed
    # SplitMixer has no deploy form
    assert 'deploy+compile' not in printed.split('Every mode')[1]
    (row, ) = results
    assert row['inference_mode'] == row['training_mode'] == 'compile'
    assert row['inference_compile_time'] >= 0
    # every model and mode has its own compiled graph
    import torch._dynamo as dynamo
    assert dynamo.config.cache_size_limit >= 64


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
    assert benchmark.batch_size_for(args, 'any.py', (3, 224, 224)) == 64
    # every mode but onnxruntime by default; deploy modes for the model with
    # a deploy form
    modes = {name: [c.mode for c in cases if c.name == name] for name in infos}
    assert modes['tiny-repvgg'] == [
        mode for mode in benchmark.MODES if mode != 'onnxruntime'
    ]
    assert modes['tiny-splitmixer-i'] == [
        mode for mode in benchmark.MODES
        if 'deploy' not in mode and mode != 'onnxruntime'
    ]


def test_onnxruntime_mode(tiny_configs, capsys):
    """The exported model runs in onnxruntime, for inference only."""
    pytest.importorskip('onnxruntime')
    pytest.importorskip('onnxscript')
    results = benchmark.main(
        tiny_configs[:2] + SMALL +
        ['--device', 'cpu', '--modes', 'eager', 'onnxruntime'])
    printed = capsys.readouterr().out
    assert '| tiny-splitmixer-i | onnxruntime | ' in printed
    measured = [
        line for line in printed.split('Each model')[0].splitlines()
        if '| onnxruntime |' in line
    ]
    assert len(measured) == 2
    assert all(row.split(' | ')[3] == '-' for row in measured)  # training
    # the best training mode is eager, the only one that trains
    assert all(r['training_mode'] == 'eager' for r in results)
    assert all(r['inference'] > 0 for r in results)


def test_paper_set_exists():
    root = benchmark.configs_root()
    for name in benchmark.PAPER_CONFIGS:
        assert (root / name).is_file(), name
    args = benchmark.parse_args(['--paper'])
    paths = benchmark.resolve_configs(args)
    assert len(paths) == 10


def test_cost_curve_pairs_every_splitmixer_with_a_convmixer():
    from mmpretrain.registry import MODELS
    args = benchmark.parse_args(['--cost-curve'])
    paths = benchmark.resolve_configs(args)
    assert len(paths) == 18 and paths[12].startswith('mmpretrain::')
    models = []
    for path in paths:
        cfg = benchmark.load_config(path)
        shape = benchmark.input_shape_for(cfg, None)
        with torch.device('meta'):
            backbone = MODELS.build(cfg.model.backbone)
        act = next(m for m in backbone.modules()
                   if isinstance(m, (nn.ReLU, nn.GELU)))
        models.append(
            (type(backbone).__name__, backbone.embed_dims, backbone.depth,
             backbone.patch_size, backbone.kernel_size, type(act), shape[1],
             benchmark.batch_size_for(args, path, shape)))
    assert models[0] == ('ConvMixer', 256, 8, 2, 5, nn.GELU, 32, 64)
    assert models[6] == ('ConvMixer', 256, 8, 7, 7, nn.GELU, 224, 16)
    assert models[12] == ('ConvMixer', 768, 32, 7, 7, nn.ReLU, 224, 4)
    # ConvMixer first, then SplitMixers of its width, depth, patch, kernel,
    # activation, input size and batch size
    for start, end in ((0, 6), (6, 12), (12, 14), (14, 16), (16, 18)):
        assert models[start][0] == 'ConvMixer'
        for model in models[start + 1:end]:
            assert model[0] == 'SplitMixer' and model[1:] == models[start][1:]
    # one name per model and input size
    args = benchmark.parse_args(['--cost-curve', '--batch-size', '2'])
    names = [name for name, _, _ in benchmark.config_models(paths[:7], args)]
    assert names[:2] == [
        'convmixer-256-8_1xb512_cifar10', 'splitmixer-i-256-8'
    ]
    assert names[6] == 'convmixer-256-8_1xb128_food101'
    with pytest.raises(ValueError, match='more than once'):
        benchmark.config_models(paths[:2] * 2, args)
    assert benchmark.batch_size_for(args, paths[0], (3, 32, 32)) == 2


def test_models_compared_with_one_another_are_measured_together():
    from types import SimpleNamespace
    infos = {
        name:
        dict(input_shape=[3, 32, 32], batch_size=4, width=width, depth=8)
        for name, width in (('cm-256', 256), ('cm-768', 768), ('sm-256', 256),
                            ('sm-768', 768))
    }
    cases = [
        SimpleNamespace(name=name, mode=mode) for name in infos
        for mode in ('eager', 'channels_last')
    ]
    groups = benchmark.comparison_groups(cases, infos)
    assert [[(c.name, c.mode) for c in group] for group in groups] == [
        [('cm-256', 'eager'), ('cm-256', 'channels_last'), ('sm-256', 'eager'),
         ('sm-256', 'channels_last')],
        [('cm-768', 'eager'), ('cm-768', 'channels_last'), ('sm-768', 'eager'),
         ('sm-768', 'channels_last')],
    ]


def test_configs_of_installed_packages_by_name():
    name = 'mmpretrain::convmixer/convmixer-768-32_10xb64_in1k.py'
    args = benchmark.parse_args([name, '--shape', '14'])
    assert benchmark.resolve_configs(args) == [name]
    cases, infos = benchmark.build_cases([name], args)
    assert list(infos) == ['convmixer-768-32']
    assert cases[0].model.backbone.embed_dims == 768


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
    with pytest.raises(ValueError, match='--plot .* is a folder'):
        benchmark.main(tiny_configs +
                       ['--device', 'cpu', '--plot',
                        str(tmp_path)])
    # only modes the models do not have: nothing to measure
    with pytest.raises(ValueError, match='no models to benchmark'):
        benchmark.main(tiny_configs[1:2] + SMALL +
                       ['--device', 'cpu', '--modes', 'deploy'])


def run_as_script(argv, monkeypatch):
    """Run the tool as ``python benchmark.py ARGV`` would, in this process
    (test_train_throughput.py runs a tool of this folder, importing the
    modules beside it, in a process of its own)."""
    monkeypatch.setattr(sys, 'argv', [str(TOOL)] + argv)
    runpy.run_path(str(TOOL), run_name='__main__')


def test_script(tiny_configs, capsys, monkeypatch):
    run_as_script(
        tiny_configs[1:2] + SMALL + ['--device', 'cpu', '--modes', 'eager'],
        monkeypatch)
    printed = capsys.readouterr().out
    assert '| tiny-splitmixer-i | 8x8 | 2 |' in printed
    assert '| tiny-splitmixer-i | eager |' in printed
    # a refused option ends the tool with one line
    with pytest.raises(SystemExit) as info:
        run_as_script(tiny_configs[1:2] + ['--device', 'cpu', '--amp'],
                      monkeypatch)
    assert str(info.value.code).startswith('error: --amp')


def test_profile(tiny_configs, capsys):
    benchmark.main(
        tiny_configs[1:2] + SMALL +
        ['--device', 'cpu', '--modes', 'channels_last', '--profile'])
    printed = capsys.readouterr().out
    assert 'Operators of tiny-splitmixer-i, channels_last, training' in printed
    section = printed.split('tiny-splitmixer-i, channels_last, inference')[1]
    assert 'aten::gelu' in section.split('Operators of')[0]
    # deploy only: no training step to measure or profile
    results = benchmark.main(tiny_configs[2:] + SMALL +
                             ['--device', 'cpu', '--modes', 'deploy'] +
                             ['--profile'])
    (row, ) = results
    printed = capsys.readouterr().out
    assert row['training'] is None and row['training_mode'] is None
    assert '| tiny-repvgg | deploy | ' in printed
    assert '| deploy | - | - | 1.00x | - |' in printed
    assert 'Operators of tiny-repvgg, deploy, inference' in printed
    assert 'Operators of tiny-repvgg, deploy, training' not in printed
    section = printed.split('tiny-repvgg, deploy, inference')[1]
    assert 'convolution' in section


@pytest.mark.parametrize('device, during', [('cpu', False), ('cuda', True)])
def test_cudnn_autotuner_is_on_while_measuring_on_a_gpu(device, during):
    assert torch.backends.cudnn.benchmark is False
    with throughput.cudnn_autotuned(torch.device(device)):
        assert torch.backends.cudnn.benchmark is during
    assert torch.backends.cudnn.benchmark is False
