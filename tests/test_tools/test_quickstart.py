"""The quick start, end to end on a shortened schedule, and its dataset."""
import json
import re

import pytest

from tests.test_tools.tools_testing import (REPO_ROOT, load_tool, run_tool,
                                            tool_env)

digits_to_imagefolder = load_tool(
    'dataset_converters/digits_to_imagefolder.py')


def test_digits_split_is_fixed_stratified_and_complete(tmp_path):
    counts = digits_to_imagefolder.export_digits(tmp_path / 'a', size=16)
    assert counts['train'] + counts['val'] == 1797
    assert 0.18 < counts['val'] / 1797 < 0.22
    again = digits_to_imagefolder.export_digits(tmp_path / 'b', size=16)
    names = [
        sorted(p.relative_to(root).as_posix() for p in root.glob('*/*/*.png'))
        for root in (tmp_path / 'a', tmp_path / 'b')
    ]
    assert names[0] == names[1]
    assert counts['mean'] == pytest.approx(again['mean'])
    val_classes = {p.parent.name for p in (tmp_path / 'a/val').glob('*/*')}
    assert val_classes == {str(i) for i in range(10)}
    train = {p.name for p in (tmp_path / 'a/train').glob('*/*.png')}
    val = {p.name for p in (tmp_path / 'a/val').glob('*/*.png')}
    assert not train & val


def test_digits_converter_refuses_bad_arguments(tmp_path, capsys):
    with pytest.raises(SystemExit):
        digits_to_imagefolder.parse_args([str(tmp_path), '--val-ratio', '1'])
    assert '--val-ratio' in capsys.readouterr().err


@pytest.mark.slow
def test_quickstart_tells_a_short_story(tmp_path):
    result = run_tool([
        REPO_ROOT / 'tools/quickstart.py', '--epochs', '1', '--data-root',
        tmp_path / 'digits', '--work-dir', tmp_path / 'work'
    ],
                      cwd=tmp_path,
                      env=tool_env(),
                      timeout=600)
    output = result.stdout + result.stderr
    work = tmp_path / 'work'
    assert len(output.splitlines()) < 20, output
    assert 'Traceback' not in output and 'Warning' not in output
    num_val = len(list((tmp_path / 'digits/val').glob('*/*.png')))
    assert num_val == 359
    # the metric test.py wrote is a share of the held-out images, and the
    # one the quick start reports
    top1 = json.loads(
        (work / 'test_metrics.json').read_text())['accuracy/top1']
    correct = top1 * num_val / 100
    assert abs(correct - round(correct)) < 1e-3, top1
    assert f'held-out top-1: {top1:.2f} %' in output
    assert re.search(r'epoch  1/1 \[#+\] loss \d', output), output
    assert (work / 'curves.png').stat().st_size > 1000
    assert (work / 'train.log').is_file() and (work / 'test.log').is_file()
    assert re.search(r'true class (\d), predicted (\d) \(score [01]\.\d{3}\)',
                     output), output
    assert re.search(r'0\.276M params, [\d.]+M FLOPs', output), output
