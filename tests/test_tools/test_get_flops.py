"""get_flops reproduces the parameter and FLOP columns of the paper's
tables (the original code's README: ConvMixer-256/8 and SplitMixer I-IV on
CIFAR-10, CIFAR-100, Flowers102 and Food101)."""
import math
import re
import runpy
import sys
from pathlib import Path

import pytest

from tests.paper_tables import (SMALL_DATASETS, TABLES,
                                expected_backbone_params, table_config)
from tests.test_tools.tools_testing import load_tool

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / 'tools' / 'analysis_tools' / 'get_flops.py'
CONFIGS = ROOT / 'configs'

get_flops = load_tool('analysis_tools/get_flops.py')

ROWS = [(dataset, model) for dataset, rows in TABLES.items() for model in rows]


def config_path(dataset, model):
    family = 'convmixer' if model == 'convmixer' else 'splitmixer'
    return CONFIGS / family / f'{table_config(dataset, model)}.py'


def closed_form_params(model, setup):
    """Parameters of a table row's classifier: the backbone as the paper's
    rules count it, and the linear head."""
    convmixer = model == 'convmixer'
    backbone = expected_backbone_params(
        256,
        8,
        setup.patch_size,
        setup.kernel_size,
        None if convmixer else model.upper(),
        spatial=not convmixer,
        channel=not convmixer)
    return backbone + 256 * setup.num_classes + setup.num_classes


def parse(output):
    flops = re.search(r'^Flops: ([0-9.]+)M$', output, re.M)
    params = re.search(r'^Params: ([0-9.]+)M$', output, re.M)
    assert flops and params, output
    return float(flops.group(1)), float(params.group(1))


@pytest.mark.parametrize('dataset, model', ROWS)
def test_paper_rows(dataset, model, capsys):
    path = config_path(dataset, model)
    assert path.is_file(), f'paper config missing: {path}'
    result = get_flops.main([str(path)])
    flops, params = parse(capsys.readouterr().out)
    paper_params, paper_flops, _ = TABLES[dataset][model]
    setup = SMALL_DATASETS[dataset]
    step = 0.1 if dataset.startswith('cifar') else 1
    exact_flops = result['flops'] / 1e6
    # the paper's value is the count rounded down or up to its precision;
    # its parameter counts are rounded loosely, so they are checked to
    # within 0.011 M, and exactly against the closed-form count
    low = math.floor(exact_flops / step) * step
    assert low - 1e-9 <= paper_flops <= low + step + 1e-9, exact_flops
    assert abs(result['params'] / 1e6 - paper_params) <= 0.011
    exact = closed_form_params(model, setup)
    assert result['params'] == exact
    assert params == round(exact / 1e6, 3)
    assert flops == round(result['flops'] / 1e6, 3)


def test_shape_option_and_cfg_options(capsys):
    path = config_path('cifar10', 'i')
    get_flops.main([str(path), '--shape', '64'])
    out = capsys.readouterr().out
    assert 'Input shape: (3, 64, 64)' in out
    flops_64, _ = parse(out)
    assert flops_64 > 3.9 * 71.838  # the paper's row at 32 x 32
    get_flops.main([
        str(path), '--shape', '32', '32', '--cfg-options',
        'model.backbone.mixer_setting=II', 'model.head.num_classes=100'
    ])
    out = capsys.readouterr().out
    assert 'Input shape: (3, 32, 32)' in out
    flops, params = parse(out)
    assert round(flops, 1) == 46.2 and params == 0.199


def test_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='missing.py'):
        get_flops.main([str(tmp_path / 'missing.py')])
    path = config_path('cifar10', 'i')
    with pytest.raises(ValueError, match='--shape'):
        get_flops.main([str(path), '--shape', '1', '2', '3'])
    no_size = tmp_path / 'no_size.py'
    no_size.write_text(
        f"_base_ = ['{path}']\n"
        "test_dataloader = dict(dataset=dict(type='CustomDataset', "
        "pipeline=[dict(type='LoadImageFromFile'), "
        "dict(type='PackInputs')]), _delete_=True)\n"
        'val_dataloader = None\n')
    with pytest.raises(ValueError, match='pass the size with --shape'):
        get_flops.main([str(no_size)])


def run_as_script(argv, monkeypatch):
    """Run the tool as ``python get_flops.py ARGV`` would, in this
    process."""
    monkeypatch.setattr(sys, 'argv', [str(TOOL)] + [str(a) for a in argv])
    runpy.run_path(str(TOOL), run_name='__main__')


def test_script(capsys, monkeypatch):
    run_as_script([config_path('food101', 'iii')], monkeypatch)
    out = capsys.readouterr().out
    flops, params = parse(out)
    assert round(flops) == 363 and params == 0.242
    assert 'Input shape: (3, 224, 224)' in out
    # bad input ends the tool with one line
    with pytest.raises(SystemExit) as info:
        run_as_script(['nowhere.py'], monkeypatch)
    assert info.value.code == 'error: config file not found: nowhere.py'
