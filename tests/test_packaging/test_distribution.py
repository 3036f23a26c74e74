"""From source tree to a working installation, as a user of a package index
gets it: the source distribution, a wheel built from it, and that wheel
installed (not editable) in a fresh virtual environment.

The environment sees the system's packages (torch, mmengine, mmpretrain,
...) and has ``pkg_resources`` hidden, as on a fresh install with
setuptools >= 81. Everything runs from a temporary folder, so the checkout
cannot be imported by accident.
"""
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

from mmsplitmix.version import MINIMUM_TORCH_VERSION
from tests.test_tools.tools_testing import make_image_folders

try:
    import tomllib
except ImportError:  # Python < 3.11
    tomllib = None

REPO_ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow

CIFAR_NAME = 'splitmixer-i-256-8_1xb512_cifar10'
# What a wheel must hold under mmsplitmix/.mim for the zoo, `mim` and the
# `mmsplitmix::` configs.
MIM_FILES = [
    'model-index.yml',
    'configs/splitmixer/metafile.yml',
    f'configs/splitmixer/{CIFAR_NAME}.py',
    'configs/_base_/datasets/pipelines/torchvision_randaugment.py',
    'configs/quickstart/splitmixer-i-256-8_1xb64_digits.py',
    'tools/train.py',
    'tools/test.py',
    'tools/dist_train.sh',
    'tools/dist_launch.sh',
]

# A user's configs, in a folder of their own, written the way mmpretrain's
# users write them. Tiny model, generated images, one iteration.
TINY_MODEL = '''
model = dict(
    backbone=dict(arch=dict(embed_dims=16, depth=2, patch_size=4,
                            kernel_size=3)),
    head=dict(num_classes=3, in_channels=16))
'''
NO_EVAL = '''
train_cfg = dict(by_epoch=True, max_epochs=1)
val_dataloader = None
val_cfg = None
val_evaluator = None
test_dataloader = None
test_cfg = None
test_evaluator = None
default_hooks = dict(logger=dict(interval=1))
'''
MMSPLITMIX_USER_CONFIG = '''
_base_ = ['mmsplitmix::splitmixer/{name}.py']
''' + TINY_MODEL + '''
data_preprocessor = dict(num_classes=3)
train_dataloader = dict(
    batch_size={batch},
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        _delete_=True,
        type='CustomDataset',
        data_root={root!r},
        # The package's CIFAR pipeline, after reading image files.
        pipeline=[dict(type='LoadImageFromFile')] + _base_.train_pipeline))
''' + NO_EVAL
MMPRETRAIN_USER_CONFIG = '''
_base_ = [
    'mmpretrain::_base_/schedules/cifar10_bs128.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmsplitmix'], allow_failed_imports=False)
model = dict(
    type='ImageClassifier',
    backbone=dict(type='SplitMixer', arch=dict(embed_dims=16, depth=2,
                  patch_size=4, kernel_size=3), mixer_setting='II'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=3, in_channels=16,
              loss=dict(type='CrossEntropyLoss')))
data_preprocessor = dict(num_classes=3, mean=[127.5] * 3, std=[127.5] * 3,
                         to_rgb=True)
train_dataloader = dict(
    batch_size={batch},
    num_workers=0,
    dataset=dict(type='CustomDataset', data_root={root!r},
                 pipeline=[dict(type='LoadImageFromFile'),
                           dict(type='PackInputs')]),
    sampler=dict(type='DefaultSampler', shuffle=True))
''' + NO_EVAL


def run(args, cwd, env=None, timeout=300):
    proc = subprocess.run([str(a) for a in args],
                          cwd=cwd,
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(
            f'{args} exited with {proc.returncode}\n--- stdout ---\n'
            f'{proc.stdout[-6000:]}\n--- stderr ---\n{proc.stderr[-6000:]}')
    return proc


def build_backend():
    """The PEP 517 backend that pyproject.toml names."""
    text = (REPO_ROOT / 'pyproject.toml').read_text()
    if tomllib is not None:
        name = tomllib.loads(text)['build-system']['build-backend']
    else:
        line = next(line for line in text.splitlines()
                    if line.startswith('build-backend'))
        name = line.split('=', 1)[1].strip().strip('"\'')
    return name


@pytest.fixture(scope='module')
def source_tree(tmp_path_factory):
    """The files of a clean checkout: tracked and not ignored ones."""
    if shutil.which('git') is None or not (REPO_ROOT / '.git').exists():
        pytest.skip('needs a git checkout of mmsplitmix')
    listed = run(['git', 'ls-files', '-co', '--exclude-standard', '-z'],
                 cwd=REPO_ROOT).stdout.split('\0')
    tree = tmp_path_factory.mktemp('checkout') / 'mmsplitmix'
    for rel in filter(None, listed):
        src = REPO_ROOT / rel
        if src.is_file():
            (tree / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, tree / rel)
    return tree


@pytest.fixture(scope='module')
def sdist(source_tree, tmp_path_factory):
    """``python -m build --sdist``, through the same backend call."""
    out = tmp_path_factory.mktemp('sdist')
    backend = build_backend()
    proc = run([
        sys.executable, '-c',
        f'import sys, {backend} as b; print(b.build_sdist(sys.argv[1]))', out
    ],
               cwd=source_tree)
    return out / proc.stdout.strip().splitlines()[-1]


@pytest.fixture(scope='module')
def wheel(sdist, tmp_path_factory):
    """A wheel built from the sdist alone (pip unpacks it elsewhere)."""
    out = tmp_path_factory.mktemp('wheel')
    run([
        sys.executable, '-m', 'pip', 'wheel', '--no-deps',
        '--no-build-isolation', '--no-cache-dir', '-w', out, sdist
    ],
        cwd=out)
    (path, ) = out.glob('mmsplitmix-*.whl')
    return path


def venv_python(venv):
    return venv / ('Scripts/python.exe' if os.name == 'nt' else 'bin/python')


@pytest.fixture(scope='module')
def venv(wheel, tmp_path_factory):
    """A fresh environment with the wheel installed, the system's packages
    visible and ``pkg_resources`` hidden.

    "The system's packages" are those of the interpreter running the tests:
    where that is itself a virtual environment, its site folders are added
    to the new one's (with their ``.pth`` files, as ``--system-site-packages``
    adds the base interpreter's).
    """
    root = tmp_path_factory.mktemp('venv')
    env_dir = root / 'env'
    run([
        sys.executable, '-m', 'venv', '--system-site-packages',
        '--without-pip', env_dir
    ],
        cwd=root)
    python = venv_python(env_dir)
    site_dir = Path(
        run([
            python, '-c', 'import sysconfig; print(sysconfig.get_path('
            '"purelib"))'
        ],
            cwd=root).stdout.strip())
    if sys.prefix != sys.base_prefix:
        folders = dict.fromkeys(
            sysconfig.get_path(key) for key in ('purelib', 'platlib'))
        (site_dir / 'tests_running_environment.pth').write_text(''.join(
            f'import site; site.addsitedir({folder!r})\n'
            for folder in folders))
    (site_dir / 'pkg_resources.py').write_text(
        'raise ImportError("pkg_resources is hidden: setuptools >= 81 has '
        'none")\n')
    # pip from the system site-packages installs into the environment.
    run([
        python, '-m', 'pip', 'install', '--no-deps', '--no-build-isolation',
        '--ignore-installed', '--no-cache-dir', wheel
    ],
        cwd=root)
    return python, site_dir


def user_env():
    """The caller's environment without the checkout on ``PYTHONPATH``
    (other folders there stay: packages installed with
    tools/offline_wheels.sh, say) and without mmsplitmix's settings."""
    env = dict(os.environ)
    for name in ('MMSPLITMIX_TRUSTED_CHECKPOINTS', 'RANK', 'WORLD_SIZE',
                 'LOCAL_RANK', 'MASTER_ADDR', 'MASTER_PORT'):
        env.pop(name, None)
    kept = [
        folder for folder in env.pop('PYTHONPATH', '').split(os.pathsep)
        if folder and Path(folder).resolve() != REPO_ROOT
    ]
    if kept:
        env['PYTHONPATH'] = os.pathsep.join(kept)
    env['OMP_NUM_THREADS'] = '1'
    env['MKL_NUM_THREADS'] = '1'
    return env


def run_in(venv, code, cwd):
    python, _ = venv
    return run([python, '-c', code], cwd=cwd, env=user_env())


def test_sdist_holds_what_a_build_needs(sdist):
    with tarfile.open(sdist) as tar:
        names = {
            name.split('/', 1)[1]
            for name in tar.getnames() if '/' in name
        }
    for required in ('LICENSE', 'README.md', 'pyproject.toml', 'setup.py',
                     'MANIFEST.in', 'requirements/runtime.txt',
                     'requirements/tests.txt', 'requirements/quickstart.txt',
                     'model-index.yml', 'tools/train.py',
                     f'configs/splitmixer/{CIFAR_NAME}.py',
                     'configs/splitmixer/metafile.yml',
                     'mmsplitmix/registry.py'):
        assert required in names, required
    # The in-package copy is made when a wheel is built, not shipped twice.
    assert not any(name.startswith('mmsplitmix/.mim') for name in names)
    assert not any('__pycache__' in name for name in names)


def test_wheel_from_sdist_ships_configs_tools_and_index(wheel, source_tree):
    with zipfile.ZipFile(wheel) as whl:
        names = set(whl.namelist())
        metadata = whl.read(
            next(n for n in names if n.endswith('.dist-info/METADATA')))
    for rel in MIM_FILES:
        assert f'mmsplitmix/.mim/{rel}' in names, rel
    shipped = {
        n
        for n in names
        if n.startswith('mmsplitmix/.mim/configs/') and n.endswith('.py')
    }
    in_tree = {
        f'mmsplitmix/.mim/{p.relative_to(source_tree).as_posix()}'
        for p in (source_tree / 'configs').rglob('*.py')
    }
    assert shipped == in_tree
    assert any(
        n.endswith('/licenses/LICENSE') or n.endswith('/LICENSE')
        for n in names)
    assert b'License: Apache-2.0' in metadata or \
        b'License-Expression: Apache-2.0' in metadata
    # The torch floor is the one the package checks on import.
    assert f'Requires-Dist: torch>={MINIMUM_TORCH_VERSION}'.encode() in \
        metadata
    assert b'Requires-Python: >=3.10' in metadata


# What a user of the installed package runs, in one interpreter (starting
# one takes seconds); the tests below check its report.
USER_SESSION = f'''
import json, pathlib
import mmsplitmix
from mmengine.hub import get_config, get_model as hub_get_model
from mmpretrain import get_model, list_models

report = dict(package=str(pathlib.Path(mmsplitmix.__file__).parent))
try:
    import pkg_resources
    report['pkg_resources'] = True
except ImportError:
    report['pkg_resources'] = False
model = get_model({CIFAR_NAME!r})
report['params'] = sum(p.numel() for p in model.parameters())
report['splitmixers'] = len(list_models('splitmixer*'))
cfg = get_config('mmsplitmix::splitmixer/{CIFAR_NAME}.py')
report['hub_config_setting'] = cfg.model.backbone.mixer_setting
model = hub_get_model('mmsplitmix::splitmixer/{CIFAR_NAME}.py')
report['hub_model'] = [type(model).__name__, type(model.backbone).__name__]
try:
    get_model({CIFAR_NAME!r}, pretrained=True)
except Exception as error:
    report['pretrained_error'] = [type(error).__name__, str(error)]
print(json.dumps(report))
'''


@pytest.fixture(scope='module')
def user_session(venv, tmp_path_factory):
    out = run_in(venv, USER_SESSION, tmp_path_factory.mktemp('session'))
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_installed_package_is_the_wheel_and_the_zoo_works(venv, user_session):
    _, site = venv
    assert Path(user_session['package']) == site / 'mmsplitmix'
    assert user_session['pkg_resources'] is False
    assert user_session['params'] == 275834
    # every SplitMixer of the source tree's model index, none lost
    from mmpretrain import list_models

    import mmsplitmix  # noqa: F401  (adds the model index)
    assert user_session['splitmixers'] == len(list_models('splitmixer*'))
    assert user_session['splitmixers'] >= 23


def test_hub_finds_configs_by_package_name(user_session):
    assert user_session['hub_config_setting'] == 'I'
    assert user_session['hub_model'] == ['ImageClassifier', 'SplitMixer']


def test_no_weights_message_in_the_installed_package(user_session):
    kind, message = user_session['pretrained_error']
    assert kind == 'NoTrainedWeightsError'
    assert f'no trained weights exist for {CIFAR_NAME!r}' in message
    assert 'pretrained=PATH' in message


@pytest.fixture(scope='module')
def images(tmp_path_factory):
    root = tmp_path_factory.mktemp('images')
    make_image_folders(root)
    return root


def train_in_venv(venv, config_text, images, tmp_path):
    """Train with the installed tools/train.py (what `mim train` runs)."""
    python, site = venv
    n_images = sum(1 for _ in images.rglob('*.png'))
    config = tmp_path / 'my_config.py'
    config.write_text(
        config_text.format(name=CIFAR_NAME, root=str(images), batch=n_images))
    work_dir = tmp_path / 'work_dir'
    proc = run([
        python, site / 'mmsplitmix' / '.mim' / 'tools' / 'train.py', config,
        '--work-dir', work_dir
    ],
               cwd=tmp_path,
               env=user_env())
    # One epoch of one batch: one iteration, one checkpoint.
    assert (work_dir / 'epoch_1.pth').is_file()
    assert 'Epoch(train) [1][1/1]' in proc.stdout + proc.stderr
    return proc


def test_user_config_inheriting_mmsplitmix_trains(venv, images, tmp_path):
    proc = train_in_venv(venv, MMSPLITMIX_USER_CONFIG, images, tmp_path)
    # The training pipeline and the recipe came from the package's config.
    dumped = (tmp_path / 'work_dir' / 'my_config.py').read_text()
    assert "type='RandAugment'" in dumped
    assert 'PiecewiseLinear' in dumped
    # Built in the mmsplitmix scope, whose registry nodes were found.
    assert 'Failed to search registry' not in proc.stdout + proc.stderr
    assert 'is not installed' not in proc.stdout + proc.stderr


def test_user_config_inheriting_mmpretrain_trains(venv, images, tmp_path):
    train_in_venv(venv, MMPRETRAIN_USER_CONFIG, images, tmp_path)
    dumped = (tmp_path / 'work_dir' / 'my_config.py').read_text()
    # From mmpretrain's cifar10_bs128 schedule.
    assert "type='SGD'" in dumped
