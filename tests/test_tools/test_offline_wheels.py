"""tools/offline_wheels.sh without network: the pinned set against the
installed packages' requirements, the pip command `download` runs, and
`install` on a wheel built here."""
import importlib.metadata
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.test_tools.tools_testing import REPO_ROOT

SCRIPT = REPO_ROOT / 'tools' / 'offline_wheels.sh'
#: What a machine with torch, torchvision, numpy and Pillow already has:
#: those and their own requirements.
BARE_PYTORCH = {'torch', 'torchvision', 'numpy', 'pillow'}
#: Markers of the target the wheels are for (CPython 3.12 on Linux).
TARGET = {
    'python_version': '3.12',
    'python_full_version': '3.12.0',
    'sys_platform': 'linux',
    'platform_system': 'Linux',
    'platform_machine': 'x86_64',
    'platform_python_implementation': 'CPython',
    'implementation_name': 'cpython',
    'os_name': 'posix',
    'extra': '',
}
#: Distributions that provide the same import name.
ALIASES = {'opencv-python': 'opencv-python-headless'}


def canonical(name):
    return re.sub(r'[-_.]+', '-', name).lower()


def installed_version(name):
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def requirement_closure(names, pins=None):
    """Distributions ``names`` need on the target, read from the installed
    packages' metadata. A distribution installed here in another version
    than its pin in ``pins`` is counted but not followed: its installed
    requirements are not those of the pinned wheel."""
    pins = pins or {}
    seen = set()
    todo = list(names)
    while todo:
        name = canonical(todo.pop())
        if name in seen:
            continue
        seen.add(name)
        installed = installed_version(name)
        if installed is None or pins.get(name, installed) != installed:
            continue
        requires = importlib.metadata.requires(name) or []
        for line in requires:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate(
                    TARGET):
                todo.append(requirement.name)
    return seen


def run_script(args, env=None, **kwargs):
    return subprocess.run(
        ['bash', SCRIPT] + [str(a) for a in args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env or dict(os.environ),
        **kwargs)


def listed(*args):
    proc = run_script(['list'] + list(args))
    assert proc.returncode == 0, proc.stderr
    pins = [line.split('==') for line in proc.stdout.split()]
    return {canonical(name): version for name, version in pins}


def test_pinned_set_covers_the_requirements():
    pure = listed()
    every = listed('--with-binary')
    assert set(pure) < set(every)
    # The OpenMMLab packages are pinned to the versions tested here.
    for name in ('mmengine', 'mmcv-lite', 'mmpretrain'):
        assert pure[name] == importlib.metadata.version(name), name
    needed = requirement_closure(['mmengine', 'mmcv-lite', 'mmpretrain'],
                                 pins=every)
    already_there = requirement_closure(BARE_PYTORCH)
    missing = {ALIASES.get(name, name)
               for name in needed - already_there} - set(every)
    assert not missing, f'not in the pinned set: {sorted(missing)}'
    # The default set is pure Python: its wheels fit any platform (read
    # where the pinned version is the one installed here).
    for name, version in pure.items():
        if installed_version(name) != version:
            continue
        wheel = importlib.metadata.distribution(name).read_text('WHEEL')
        tags = re.findall(r'^Tag: (\S+)', wheel, re.M)
        assert tags and all(t.endswith('-none-any') for t in tags), name


@pytest.fixture
def fake_python(tmp_path):
    """A PYTHON that records its arguments instead of running pip."""
    calls = tmp_path / 'calls.txt'
    stub = tmp_path / 'fake_python'
    stub.write_text(f'#!/usr/bin/env bash\nprintf "%s\\n" "$@" > {calls}\n')
    stub.chmod(0o755)
    env = dict(os.environ, PYTHON=str(stub))
    return env, calls


def test_download_runs_pip_for_the_target(fake_python, tmp_path):
    env, calls = fake_python
    wheels = tmp_path / 'wheels'
    proc = run_script(['download', wheels], env=env)
    assert proc.returncode == 0, proc.stderr
    assert wheels.is_dir()
    args = calls.read_text().split('\n')[:-1]
    pins = [f'{name}=={version}' for name, version in listed().items()]
    assert args[:9] == [
        '-m', 'pip', 'download', '--no-deps', '--only-binary=:all:',
        '--python-version', '3.12', '--implementation', 'cp'
    ]
    assert args[9:19:2] == ['--platform'] * 5
    assert 'manylinux2014_x86_64' in args[10:19:2]
    assert args[19:21] == ['-d', str(wheels)]
    assert [canonical(a) for a in args[21:]] == [canonical(p) for p in pins]

    proc = run_script([
        'download', wheels, '--with-binary', '--python-version', '3.11',
        '--platform', 'manylinux_2_17_x86_64'
    ],
                      env=env)
    assert proc.returncode == 0, proc.stderr
    args = calls.read_text().split('\n')[:-1]
    assert args[5:7] == ['--python-version', '3.11']
    assert args[9:13] == [
        '--platform', 'manylinux_2_17_x86_64', '-d',
        str(wheels)
    ]
    assert len(args[13:]) == len(listed('--with-binary'))


@pytest.mark.parametrize('args, message', [
    (['download'], 'missing DIR'),
    (['download', 'a', 'b'], "one DIR expected, got 'a' and 'b'"),
    (['download', 'w', '--python-version', '312'
      ], "--python-version must look like 3.12, got '312'"),
    (['download', 'w', '--python-version'], '--python-version needs a value'),
    (['download', 'w', '--bogus'], "unknown option '--bogus'"),
    (['install'], 'missing DIR'),
    (['install', 'no-such-folder'], "wheel folder 'no-such-folder' not found"),
    (['list', '--bogus'], "unknown option '--bogus'"),
    (['upload'], "unknown subcommand 'upload'"),
])
def test_bad_arguments(args, message, fake_python, tmp_path):
    env, calls = fake_python
    proc = run_script(args, env=env, cwd=tmp_path)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert not calls.exists()  # pip never ran
    assert not (tmp_path / 'w').exists()


def test_download_into_a_file_is_refused(fake_python, tmp_path):
    env, calls = fake_python
    target = tmp_path / 'wheels'
    target.write_text('not a folder')
    proc = run_script(['download', target], env=env)
    assert proc.returncode == 2
    assert f"DIR '{target}' exists and is not a folder" in proc.stderr
    assert not calls.exists()


def write_wheel(folder, name, version, files):
    """A minimal pure-Python wheel holding ``files`` (path -> text)."""
    dist_info = f'{name}-{version}.dist-info'
    contents = dict(files)
    contents[f'{dist_info}/METADATA'] = (
        f'Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n')
    contents[f'{dist_info}/WHEEL'] = (
        'Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\n'
        'Tag: py3-none-any\n')
    record = ''.join(f'{path},,\n' for path in contents)
    contents[f'{dist_info}/RECORD'] = record + f'{dist_info}/RECORD,,\n'
    path = Path(folder) / f'{name}-{version}-py3-none-any.whl'
    with zipfile.ZipFile(path, 'w') as archive:
        for member, text in contents.items():
            archive.writestr(member, text)
    return path


def test_install_adds_missing_wheels_and_prints_the_export(tmp_path):
    wheels = tmp_path / 'wheels'
    wheels.mkdir()
    write_wheel(wheels, 'offline_probe', '0.1',
                {'offline_probe/__init__.py': 'VALUE = 42\n'})
    # Installed here already: kept, not installed again.
    write_wheel(wheels, 'pytest', '0.0.1', {'pytest/__init__.py': ''})
    site = tmp_path / 'site'
    env = dict(os.environ, PYTHON=sys.executable)
    # What is on the caller's PYTHONPATH (mmengine itself, where it was
    # installed this way) stays on it, after the new folder.
    expected = os.pathsep.join([str(site)] +
                               [p for p in [env.get('PYTHONPATH')] if p])
    proc = run_script(['install', wheels, '--target', site], env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f'export PYTHONPATH={expected}\n'
    assert 'installing 1 wheels' in proc.stderr
    assert re.search(r'already installed, kept as they are: pytest \S+',
                     proc.stderr)
    assert 'mmengine, mmcv and mmpretrain import' in proc.stderr
    assert (site / 'offline_probe' / '__init__.py').is_file()
    assert not (site / 'pytest').exists()
    probe = subprocess.run([
        sys.executable, '-c', 'import offline_probe; '
        'print(offline_probe.VALUE)'
    ],
                           env=dict(env, PYTHONPATH=str(site)),
                           capture_output=True,
                           text=True)
    assert probe.stdout == '42\n', probe.stderr


def test_install_refuses_a_bad_wheel_folder(tmp_path):
    env = dict(os.environ, PYTHON=sys.executable)
    site = tmp_path / 'site'
    empty = tmp_path / 'empty'
    empty.mkdir()
    proc = run_script(['install', empty, '--target', site], env=env)
    assert proc.returncode != 0
    assert f'no wheels (*.whl) in {empty}' in proc.stderr

    two = tmp_path / 'two'
    two.mkdir()
    write_wheel(two, 'offline_probe', '0.1', {'offline_probe/a.py': ''})
    write_wheel(two, 'offline_probe', '0.2', {'offline_probe/a.py': ''})
    proc = run_script(['install', two, '--target', site], env=env)
    assert proc.returncode != 0
    assert 'several versions of one package (offline-probe: 0.1, 0.2)' in \
        proc.stderr
    assert proc.stdout == ''
    assert not site.exists()
