import pytest
import torch.nn as nn

from mmsplitmix.analysis import format_millions
from tests.test_tools.tools_testing import load_tool

benchmark_report = load_tool('analysis_tools/benchmark_report.py')
throughput = load_tool('analysis_tools/throughput.py')
add_speedups, best_modes = (benchmark_report.add_speedups,
                            benchmark_report.best_modes)
format_modes_table, format_table = (benchmark_report.format_modes_table,
                                    benchmark_report.format_table)
BenchmarkCase = throughput.BenchmarkCase
measure_throughput = throughput.measure_throughput


def _result(name, shape, inference, training, flops=152635904, **arch):
    return dict(
        name=name,
        input_shape=[3, shape, shape],
        batch_size=8,
        params=1234567,
        flops=flops,
        **arch,
        inference=inference,
        training=training,
        inference_mode='deploy',
        training_mode='channels_last')


def test_speedups_per_input_size():
    results = add_speedups([
        _result('a', 32, 100., 10.),
        _result('b', 32, 250., 20.),
        _result('c', 224, 5., 1.),
        _result('d', 224, 10., 3.),
    ])
    assert [r['inference_speedup'] for r in results] == [1, 2.5, 1, 2]
    assert [r['training_speedup'] for r in results] == [1, 2, 1, 3]
    table = format_table(results).splitlines()
    assert len(table) == 6
    assert table[2] == ('| a | 32x32 | 8 | 1.235M | 152.6M | 1.00 | 100.00 '
                        '| deploy | 10.00 | channels_last | 1.00x | 1.00x |')
    assert table[3] == ('| b | 32x32 | 8 | 1.235M | 152.6M | 1.00 | 250.00 '
                        '| deploy | 20.00 | channels_last | 2.50x (250 %) '
                        '| 2.00x (200 %) |')


def test_speedups_pair_models_of_the_same_width_and_depth():
    results = add_speedups([
        _result('convmixer-768-32', 224, 2., 0.5, 20e9, width=768, depth=32),
        _result('convmixer-1024-20', 224, 6., 1.5, 6e9, width=1024, depth=20),
        _result('splitmixer-768-32', 224, 3., 0.8, 9e9, width=768, depth=32),
        _result('splitmixer-1024-20', 224, 9., 3., 3e9, width=1024, depth=20),
    ])
    assert [r['baseline'] for r in results] == [
        'convmixer-768-32', 'convmixer-1024-20', 'convmixer-768-32',
        'convmixer-1024-20'
    ]
    split768, split1024 = results[2:]
    assert split768['flop_ratio'] == pytest.approx(20 / 9)
    assert split768['inference_speedup'] == pytest.approx(1.5)
    assert split768['inference_flop_share'] == pytest.approx(1.5 * 9 / 20)
    assert split1024['training_speedup'] == pytest.approx(2.0)
    assert split1024['training_flop_share'] == pytest.approx(1.0)
    row = format_table(results).splitlines()[4]
    assert row.endswith('| 2.22 | 3.00 | deploy | 0.80 | channels_last '
                        '| 1.50x (68 %) | 1.60x (72 %) |')


def test_format_millions():
    assert format_millions(594186) == '0.594M'
    assert format_millions(152635904) == '152.636M'
    assert format_millions(696000000) == '696M'
    assert format_millions(71838208, 1) == '71.8M'


def test_measure_throughput_plain_module_and_errors():
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 3))
    case = BenchmarkCase('linear', model, (3, 2, 2), 5)
    (result, ) = measure_throughput([case], warmup=1, repeats=3)
    for kind in ('inference', 'training'):
        assert result[kind] == pytest.approx(5 / result[f'{kind}_time'])
    with pytest.raises(ValueError, match='needs a CUDA device'):
        measure_throughput([case], amp=True)
    with pytest.raises(ValueError, match='repeats'):
        measure_throughput([case], repeats=0)
    with pytest.raises(ValueError, match='no models'):
        measure_throughput([])
    with pytest.raises(ValueError, match='batch size'):
        measure_throughput([BenchmarkCase('x', model, (3, 2, 2), 0)])
    with pytest.raises(ValueError, match='no deploy form'):
        measure_throughput([BenchmarkCase('x', model, (3, 2, 2), 2, 'deploy')])
    with pytest.raises(ValueError, match='unknown mode'):
        measure_throughput([BenchmarkCase('x', model, (3, 2, 2), 2, 'fast')])


class TwoBranches(nn.Module):
    """Two parallel linear branches whose deploy form is one layer, in the
    manner of mmpretrain's re-parameterisable models."""

    deploy_calls = 0  # of every instance, copies included

    def __init__(self):
        super().__init__()
        self.branches = nn.ModuleList(nn.Linear(12, 3) for _ in range(2))
        self.deploy = False

    def forward(self, x):
        x = x.flatten(1)
        if self.deploy:
            TwoBranches.deploy_calls += 1
            return self.fused(x)
        return sum(branch(x) for branch in self.branches)

    def switch_to_deploy(self):
        self.fused = nn.Linear(12, 3)
        self.fused.weight.data = sum(b.weight.data for b in self.branches)
        self.fused.bias.data = sum(b.bias.data for b in self.branches)
        del self.branches
        self.deploy = True


def test_deploy_mode_has_no_training_step_and_leaves_model_alone():
    model = TwoBranches()
    assert throughput.supports_mode(model, 'deploy+compile')
    assert not throughput.trains_in_mode('deploy')
    case = BenchmarkCase('two-branches', model, (3, 2, 2), 2, 'deploy')
    (result, ) = measure_throughput([case], warmup=0, repeats=1)
    assert result['inference'] > 0
    assert result['training'] is None and result['training_time'] is None
    # the deploy form ran, on a copy
    assert TwoBranches.deploy_calls >= 2  # the first step and one timed
    assert not model.deploy and hasattr(model, 'branches')


def test_best_modes_and_compile_time():
    base = dict(input_shape=[3, 8, 8], batch_size=2, params=1, flops=1)
    measurements = [
        dict(
            base,
            name='a',
            mode='eager',
            inference=10.0,
            training=4.0,
            inference_time=0.2,
            training_time=0.5,
            inference_first_time=0.3,
            training_first_time=0.6),
        dict(
            base,
            name='a',
            mode='compile',
            inference=20.0,
            training=3.0,
            inference_time=0.1,
            training_time=0.66,
            inference_first_time=5.1,
            training_first_time=9.0),
        dict(
            base,
            name='b',
            mode='deploy',
            inference=40.0,
            training=None,
            inference_time=0.05,
            training_time=None,
            inference_first_time=0.05,
            training_first_time=None),
        dict(
            base,
            name='b',
            mode='eager',
            inference=30.0,
            training=8.0,
            inference_time=0.066,
            training_time=0.25,
            inference_first_time=0.1,
            training_first_time=0.3),
        dict(
            base,
            name='c',
            mode='deploy',
            inference=5.0,
            training=None,
            inference_time=0.4,
            training_time=None,
            inference_first_time=0.4,
            training_first_time=None),
    ]
    a, b, c = add_speedups(best_modes(measurements))
    assert (a['inference_mode'], a['training_mode']) == ('compile', 'eager')
    assert a['inference_compile_time'] == pytest.approx(5.0)
    assert a['training_compile_time'] == pytest.approx(0.1)
    assert (b['inference_mode'], b['training_mode']) == ('deploy', 'eager')
    assert b['inference_speedup'] == pytest.approx(2.0)
    assert b['training_speedup'] == pytest.approx(2.0)
    assert 'mode' not in a
    # deploy modes only: no training step
    assert c['inference_speedup'] == pytest.approx(0.25)
    assert c['training'] is c['training_mode'] is c['training_speedup'] is None
    table = format_modes_table(measurements).splitlines()
    assert table[4] == '| b | deploy | 40.0 | - | 0.05 | - |'
    assert format_table([c]).splitlines()[2] == (
        '| c | 8x8 | 2 | 0M | 0M | 1.00 | 5.00 | deploy | - | - '
        '| 0.25x (25 %) | - |')


def test_throughput_chart_axes_start_at_zero(tmp_path, monkeypatch):
    import matplotlib.figure
    drawn = []
    savefig = matplotlib.figure.Figure.savefig

    def keep(fig, *args, **kwargs):
        drawn.append(fig)
        return savefig(fig, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, 'savefig', keep)
    results = add_speedups([
        _result('big', 32, 50.0, 10.0, flops=200e6),
        _result('small', 32, 80.0, None, flops=100e6),
        _result('large input', 224, 5.0, 1.0, flops=900e6),
    ])
    path = tmp_path / 'chart.png'
    benchmark_report.plot_throughput(str(path), results, 'a CPU')
    assert path.read_bytes()[:4] == b'\x89PNG'
    # a column per input size, a row per kind of step
    axes = drawn[0].axes
    assert len(axes) == 4
    assert [ax.get_xlim()[0] for ax in axes] == [0] * 4
    assert [ax.get_ylim()[0] for ax in axes] == [0] * 4
    # the curve of the baselines' throughput per FLOP
    assert [len(ax.lines) for ax in axes] == [1] * 4
