"""Install mmsplitmix: ``pip install -e .`` (or ``pip install .``).

Builds through pyproject.toml's setuptools backend; MANIFEST.in lists what
the source distribution holds besides the package (requirements, configs,
tools, model index, licence), so that a wheel built from it is complete.
"""
import importlib.metadata
import os
import shutil
import sys
import sysconfig
from pathlib import Path
from setuptools import find_packages, setup

HERE = Path(__file__).resolve().parent
# Files that `mim` and the model zoo look up inside the installed package,
# the way mmpretrain ships its `.mim` folder.
MIM_RESOURCES = ('configs', 'tools', 'model-index.yml')
# setup.py commands that build or install the package (not the metadata-
# or sdist-only ones, which leave mmsplitmix/.mim alone).
BUILD_COMMANDS = ('build', 'build_py', 'bdist_wheel', 'bdist_egg', 'install',
                  'develop', 'editable_wheel')


def read_requirements(name):
    lines = (HERE / 'requirements' / name).read_text().splitlines()
    return [
        line.split('#')[0].strip() for line in lines
        if line.split('#')[0].strip()
    ]


def installed_distributions():
    """Names of the distributions in the target environment.

    Looked up by path, so that it also works inside pip's isolated build
    environment, which hides the target's site-packages from imports.
    """
    paths = {sysconfig.get_paths()[key] for key in ('purelib', 'platlib')}
    paths.update(p for p in sys.path if p.endswith('site-packages'))
    dists = importlib.metadata.distributions(path=sorted(paths))
    return {(dist.metadata['Name'] or '').lower() for dist in dists}


def mmcv_requirement():
    """mmcv-lite (no compiled ops, nothing to build) unless a full mmcv is
    already installed, which provides the same ``mmcv`` package."""
    installed = installed_distributions()
    if installed & {'mmcv', 'mmcv-full'}:
        return []
    return ['mmcv-lite>=2.0.0,<2.3.0']


def sync_mim_resources():
    """Put configs, tools and the model index inside the package.

    Editable installs link to the working tree; other builds copy it. A
    resource missing from the tree (e.g. a source distribution that only
    ships the copy) keeps the copy already there; one found in neither
    place stops the build, rather than building a package without it.
    """
    editable = any(cmd in sys.argv for cmd in ('develop', 'editable_wheel'))
    mim = HERE / 'mmsplitmix' / '.mim'
    mim.mkdir(exist_ok=True)
    for name in MIM_RESOURCES:
        src, dst = HERE / name, mim / name
        if not src.exists():
            if dst.exists() and not dst.is_symlink():
                continue
            raise FileNotFoundError(
                f'cannot build mmsplitmix: {name} is in neither {src} nor '
                f'{dst}; build from a complete source tree or source '
                'distribution')
        if dst.is_symlink() or dst.is_file():
            dst.unlink()
        elif dst.is_dir():
            shutil.rmtree(dst)
        if editable:
            dst.symlink_to(os.path.relpath(src, mim))
        elif src.is_dir():
            shutil.copytree(
                src, dst, ignore=shutil.ignore_patterns('__pycache__'))
        else:
            shutil.copy2(src, dst)


def version_module():
    """The names of mmsplitmix/version.py (read without importing the
    package, whose dependencies may not be installed yet)."""
    scope = {}
    exec((HERE / 'mmsplitmix' / 'version.py').read_text(), scope)
    return scope


if __name__ == '__main__':
    VERSION = version_module()
    if any(cmd in sys.argv[1:] for cmd in BUILD_COMMANDS):
        sync_mim_resources()
    setup(
        name='mmsplitmix',
        version=VERSION['__version__'],
        description='SplitMixer (Borji & Lin, 2022) for OpenMMLab mmpretrain',
        long_description=(HERE / 'README.md').read_text(encoding='utf-8'),
        long_description_content_type='text/markdown',
        keywords='computer vision, image classification, mlp, splitmixer',
        packages=find_packages(include=('mmsplitmix', 'mmsplitmix.*')),
        include_package_data=True,
        package_data={'mmsplitmix': ['.mim/**/*', '.mim/*']},
        python_requires='>=3.10',
        license='Apache-2.0',
        license_files=['LICENSE'],
        install_requires=[f"torch>={VERSION['MINIMUM_TORCH_VERSION']}"] +
        read_requirements('runtime.txt') + mmcv_requirement(),
        extras_require={
            'tests': read_requirements('tests.txt'),
            'quickstart': read_requirements('quickstart.txt'),
        },
        zip_safe=False)
