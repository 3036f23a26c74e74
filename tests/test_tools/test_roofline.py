"""roofline.py: what it counts (FLOPs and bytes per operator), never the
speeds it measures."""
import pytest
import torch
import torch.nn as nn
from torch.utils.flop_counter import FlopCounterMode

from tests.test_tools.tools_testing import load_tool

roofline = load_tool('analysis_tools/roofline.py')
config_inputs = load_tool('analysis_tools/config_inputs.py')


def _traced(config, batch_size=2):
    cfg = config_inputs.load_config(config)
    model = config_inputs.build_model_from_config(cfg)
    return model, roofline.trace_steps(model, (3, 8, 8), batch_size, False)


def test_inference_flops_are_torchs_count(tiny_configs):
    for config in tiny_configs[:2]:
        model, traces = _traced(config)
        model.eval()
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(torch.randn(2, 3, 8, 8), mode='tensor')
        flops = sum(op[1] for op in traces['inference']['ops'])
        assert flops == counter.get_total_flops() > 0


def test_depthwise_backward_counts_its_groups():
    conv = nn.Conv2d(8, 8, 3, padding=1, groups=8)
    x = torch.randn(2, 8, 5, 5, requires_grad=True)
    with roofline.OperatorTrace() as trace:
        conv(x).sum().backward()
    flops = {name: f for name, f, _ in trace.ops if f}
    forward = 2 * 9 * 8 * 2 * 5 * 5  # 2 FLOPs per MAC, 9 MACs per output
    assert flops == {
        'aten.convolution': forward,
        # the input's and the weight's gradients: one convolution each
        'aten.convolution_backward': 2 * forward
    }


def test_views_move_nothing_and_copies_move_both_ways():
    x = torch.randn(4, 6)
    with roofline.OperatorTrace() as trace:
        x.view(2, 12).t()
        x.t().contiguous()
    assert [op for op in trace.ops if op[2]] == [('aten.clone', 0, 2 * 96)]


def test_out_argument_is_written_once():
    x, y = torch.randn(4, 6), torch.empty(4, 6)
    with roofline.OperatorTrace() as trace:
        torch.add(x, x, out=y)
        x.mul_(2)
    assert [op[2] for op in trace.ops] == [3 * 96, 2 * 96]


def test_copy_speed_of_the_largest_size_that_fits():
    roofline_figures = dict(copy_bytes={1024: 9.0, 4096: 5.0, 16384: 2.0})
    speed = roofline.copy_speed
    assert speed(roofline_figures, 100) == 9.0  # smaller than all
    assert speed(roofline_figures, 2 * 4096) == 5.0
    assert speed(roofline_figures, 2 * 16383) == 5.0
    assert speed(roofline_figures, 10**9) == 2.0
    assert roofline.COPY_SIZES[0] == 64 << 10
    assert roofline.COPY_SIZES[-1] == 64 << 20


def test_table(tiny_configs, capsys):
    _, rows = roofline.main(tiny_configs[:2] +
                            ['--batch-size', '2', '--repeats', '1'])
    lines = capsys.readouterr().out.splitlines()
    assert 'GFLOP/s' in lines[0] and 'GB/s' in lines[0]
    table = [line for line in lines if line.startswith('| ')]
    assert len(table) == 5 and table[0].endswith('| Speed-up ceiling |')
    # the ceiling: the first model's measured time over each one's bound
    for line, row in zip(table[1:], rows):
        base = rows[0] if row['kind'] == 'inference' else rows[1]
        ceiling = base['measured'] / row['seconds']
        assert line.endswith(f'| {ceiling:.2f}x |') and row['measured'] > 0
    convmixer, splitmixer = rows[0], rows[2]
    assert convmixer['kind'] == splitmixer['kind'] == 'inference'
    # SplitMixer-I: fewer FLOPs, more bytes (more, thinner passes)
    assert splitmixer['flops'] < convmixer['flops']
    assert splitmixer['bytes'] > convmixer['bytes']
    # training: forward, backward and the optimizer step
    assert rows[1]['flops'] > 2 * convmixer['flops']


def test_errors(tiny_configs, tmp_path):
    with pytest.raises(FileNotFoundError, match='not found'):
        roofline.main([str(tmp_path / 'missing.py')])
    with pytest.raises(ValueError, match='--batch-size'):
        roofline.main(tiny_configs[:1] + ['--batch-size', '0'])
    with pytest.raises(ValueError, match='--repeats'):
        roofline.main(tiny_configs[:1] + ['--repeats', '0'])
