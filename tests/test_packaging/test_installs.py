"""``mmsplitmix::`` and ``mmpretrain::`` configs and the model zoo in the
editable install (the README's) and in a wheel, with setuptools below 81
(``pkg_resources`` there) and at or above it (gone).

This interpreter holds the editable install. The wheel is built from a copy
of the source tree and installed into a folder of its own; setuptools 80 is
installed into another. Each check puts those folders first on the path.
"""
import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

CHECK = r'''
import importlib.util, json, os, sys
import mmsplitmix
from mmengine.config import Config
from mmpretrain import get_model

configs = dict(
    paper="_base_ = ['mmsplitmix::splitmixer/"
    "splitmixer-iii-256-8_1xb512_cifar10.py']\n",
    mixed="_base_ = ['mmsplitmix::_base_/models/splitmixer-i-256-8.py', "
    "'mmpretrain::_base_/default_runtime.py']\n")
for name, text in configs.items():
    with open(os.path.join(sys.argv[1], name + '.py'), 'w') as f:
        f.write(text)
with mmsplitmix.package_configs():
    paper, mixed = (Config.fromfile(os.path.join(sys.argv[1], name + '.py'))
                    for name in configs)
model = get_model('splitmixer-ii-256-8_1xb512_cifar10')
print(json.dumps(dict(
    package=mmsplitmix.__file__,
    pkg_resources=importlib.util.find_spec('pkg_resources') is not None,
    settings=[paper.model.backbone.mixer_setting,
              mixed.model.backbone.mixer_setting,
              model.backbone.mixer_setting],
    hooks=[paper.default_hooks.checkpoint.type,
           mixed.default_hooks.checkpoint.type])))
'''


def run(args, **kwargs):
    proc = subprocess.run([str(a) for a in args],
                          capture_output=True,
                          text=True,
                          **kwargs)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


@pytest.fixture(scope='module')
def folders(tmp_path_factory):
    """``wheel``: the package installed from a wheel; ``old_setuptools``:
    setuptools < 81."""
    root = tmp_path_factory.mktemp('installs')
    source = root / 'source'
    shutil.copytree(
        REPO_ROOT,
        source,
        ignore=shutil.ignore_patterns('.git', '.mim', 'work_dirs', 'data',
                                      '__pycache__', '*.egg-info', 'build'))
    pip = [sys.executable, '-m', 'pip', '--disable-pip-version-check']
    run(pip + [
        'wheel', '--no-deps', '--no-build-isolation', '-w', root /
        'dist', source
    ])
    wheel, = (root / 'dist').glob('mmsplitmix-*.whl')
    run(pip + ['install', '--no-deps', '--target', root / 'wheel', wheel])
    run(pip + [
        'install', '--no-deps', '--target', root /
        'old_setuptools', 'setuptools>=70.1,<81'
    ])
    return dict(
        wheel=root / 'wheel',
        old_setuptools=root / 'old_setuptools',
        scratch=root)


@pytest.mark.slow
def test_package_configs_and_zoo_in_every_install(folders):
    cases = {
        'editable, setuptools >= 81': [],
        'editable, setuptools < 81': [folders['old_setuptools']],
        'wheel, setuptools >= 81': [folders['wheel']],
        'wheel, setuptools < 81':
        [folders['wheel'], folders['old_setuptools']],
    }

    def check(item):
        name, path = item
        scratch = folders['scratch'] / name.replace(' ', '_')
        scratch.mkdir()
        env = dict(os.environ, PYTHONWARNINGS='ignore')
        env['PYTHONPATH'] = os.pathsep.join(str(p) for p in path)
        out = run([sys.executable, '-c', CHECK, scratch], cwd=scratch, env=env)
        return name, json.loads(out.splitlines()[-1])

    with ThreadPoolExecutor(2) as pool:
        results = dict(pool.map(check, cases.items()))
    for name, result in results.items():
        assert result['settings'] == ['III', 'I', 'II'], name
        assert result['hooks'] == ['AtomicCheckpointHook', 'CheckpointHook']
        assert result['pkg_resources'] == ('< 81' in name), name
        installed_from = 'wheel' if 'wheel' in name else 'editable'
        expected = (
            folders['wheel'] /
            'mmsplitmix' if installed_from == 'wheel' else REPO_ROOT /
            'mmsplitmix')
        assert Path(result['package']).parent == expected, name


def test_wheel_ships_configs_tools_and_model_index(folders):
    mim = folders['wheel'] / 'mmsplitmix' / '.mim'
    for name in ('model-index.yml', 'configs/splitmixer/metafile.yml',
                 'configs/_base_/default_runtime.py', 'tools/train.py',
                 'tools/runner_setup.py', 'tools/dist_train.sh'):
        assert (mim / name).is_file(), name
