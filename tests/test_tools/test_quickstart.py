"""The quick start, end to end on a shortened schedule, and its dataset."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / 'tools' / 'dataset_converters'))
import digits_to_imagefolder  # noqa: E402


def test_digits_split_is_fixed_stratified_and_complete(tmp_path):
    counts = digits_to_imagefolder.export_digits(tmp_path / 'a', size=16)
    assert counts['train'] + counts['val'] == 1797
    assert 0.18 < counts['val'] / 1797 < 0.22
    again = digits_to_imagefolder.export_digits(tmp_path / 'b', size=16)
    names = [
        sorted(p.relative_to(root).as_posix()
               for p in root.glob('*/*/*.png'))
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


def test_quickstart_runs_end_to_end(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS='2')
    result = subprocess.run([
        sys.executable,
        str(ROOT / 'tools/quickstart.py'), '--epochs', '1', '--data-root',
        str(tmp_path / 'digits'), '--work-dir',
        str(tmp_path / 'work')
    ],
                            cwd=tmp_path,
                            env=env,
                            capture_output=True,
                            text=True,
                            timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    work = tmp_path / 'work'
    metrics = json.loads((work / 'test_metrics.json').read_text())
    assert 0 <= metrics['accuracy/top1'] <= 100
    assert (work / 'curves.png').stat().st_size > 1000
    assert 'predicted' in output
    assert 'Flops:' in output and 'Params:' in output
    assert 'held-out top-1:' in output
    assert len(list((tmp_path / 'digits/val').glob('*/*.png'))) == 359
