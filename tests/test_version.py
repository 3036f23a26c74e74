"""mmsplitmix/version.py: version numbers and the PyTorch floor."""
import subprocess
import sys

import pytest

import mmsplitmix
from mmsplitmix.version import (MINIMUM_TORCH_VERSION, __version__,
                                check_torch_version, release_of)
from tests.test_tools.tools_testing import REPO_ROOT, tool_env


def test_version_numbers():
    assert mmsplitmix.__version__ == __version__
    assert len(release_of(__version__)) >= 2
    # weights-only loading passes (function, name) pairs to
    # torch.serialization.safe_globals, which torch takes from 2.6 on
    assert release_of(MINIMUM_TORCH_VERSION) >= (2, 6)


@pytest.mark.parametrize('text, release', [
    ('2.6', (2, 6)),
    ('2.6.0+cu124', (2, 6, 0)),
    ('2.11.0+cu130', (2, 11, 0)),
    ('2.7.0a0+git1234abc', (2, 7, 0)),
])
def test_release_of(text, release):
    assert release_of(text) == release


def test_release_of_refuses_what_is_no_version():
    with pytest.raises(ValueError, match="not a version number: 'cpu'"):
        release_of('cpu')


@pytest.mark.parametrize('torch_version',
                         ['2.6.0', '2.6.0+cu124', '2.11.0+cu130', '3.0.0'])
def test_supported_torch_passes(torch_version):
    check_torch_version(torch_version)


@pytest.mark.parametrize('torch_version', ['2.5.1+cu124', '2.0.0', '1.13.1'])
def test_older_torch_is_refused_by_name(torch_version):
    with pytest.raises(ImportError) as error:
        check_torch_version(torch_version)
    assert str(error.value).startswith(
        f'mmsplitmix needs PyTorch >= {MINIMUM_TORCH_VERSION}, but torch '
        f'{torch_version} is installed')


def test_import_refuses_an_older_torch():
    """The check runs on ``import mmsplitmix``, before anything registers."""
    code = ("import torch; torch.__version__ = '2.5.1'\n"
            'try:\n'
            '    import mmsplitmix\n'
            'except ImportError as error:\n'
            '    print(error)\n'
            "import mmpretrain.registry as r; print('SplitMixer' in "
            'r.MODELS.module_dict)\n')
    proc = subprocess.run([sys.executable, '-c', code],
                          cwd=REPO_ROOT,
                          env=tool_env(),
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        f'mmsplitmix needs PyTorch >= {MINIMUM_TORCH_VERSION}, but torch '
        '2.5.1 is installed; install a newer torch together with the '
        'torchvision built for it', 'False'
    ]
