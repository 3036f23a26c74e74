import pytest
import torch.nn as nn

from mmsplitmix.analysis import format_millions
from mmsplitmix.analysis.benchmark_report import add_speedups, format_table
from mmsplitmix.analysis.throughput import BenchmarkCase, measure_throughput


def _result(name, shape, inference, training):
    return dict(name=name, input_shape=[3, shape, shape], batch_size=8,
                params=1234567, flops=152635904, inference=inference,
                training=training)


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
    assert table[3] == ('| b | 32x32 | 8 | 1.235M | 152.6M | 250.0 | 20.0 '
                        '| 2.50x | 2.00x |')


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
