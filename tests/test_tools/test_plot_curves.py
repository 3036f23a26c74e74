"""tools/analysis_tools/plot_curves.py on a generated scalars.json."""
import json

import pytest

from tests.test_tools.tools_testing import load_tool

plot_curves = load_tool('analysis_tools/plot_curves.py')


@pytest.fixture
def work_dir(tmp_path):
    vis_data = tmp_path / 'run' / '20260101_000000' / 'vis_data'
    vis_data.mkdir(parents=True)
    records = [dict(step=i, loss=1.0 / i, lr=0.1) for i in range(1, 5)]
    records.append({'step': 1, 'accuracy/top1': 50.0})
    (vis_data / 'scalars.json').write_text('\n'.join(
        json.dumps(record) for record in records))
    return tmp_path / 'run'


def test_writes_the_png_it_names(work_dir, tmp_path, capsys):
    out = tmp_path / 'curves.png'
    plot_curves.main([str(work_dir), '--out', str(out)])
    assert out.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    assert f'written to {out}' in capsys.readouterr().out


@pytest.mark.parametrize('name', ['folder', 'curves', 'curves.jpg'])
def test_out_must_name_a_png_file(work_dir, tmp_path, capsys, name):
    (tmp_path / 'folder').mkdir()
    out = tmp_path / name
    with pytest.raises(SystemExit) as info:
        plot_curves.main([str(work_dir), '--out', str(out)])
    assert info.value.code == 2
    assert f'--out {str(out)!r}: expected the path of a .png file' in (
        capsys.readouterr().err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ['folder', 'run']
