import re

__version__ = '0.1.0'

#: The oldest PyTorch mmsplitmix runs on: safe checkpoint loading passes
#: ``(function, name)`` entries to ``torch.serialization.safe_globals``,
#: which torch takes from 2.6 on. setup.py requires it.
MINIMUM_TORCH_VERSION = '2.6'


def release_of(version: str) -> tuple:
    """The release numbers of a version: ``'2.6.0+cu124'`` ->
    ``(2, 6, 0)``, ``'2.7.0a0+git1'`` -> ``(2, 7, 0)``."""
    match = re.match(r'\d+(?:\.\d+)*', str(version))
    if match is None:
        raise ValueError(f'not a version number: {version!r}')
    return tuple(int(part) for part in match.group().split('.'))


def check_torch_version(torch_version: str) -> None:
    """Raise ImportError when ``torch_version`` is older than
    :data:`MINIMUM_TORCH_VERSION`."""
    if release_of(torch_version) < release_of(MINIMUM_TORCH_VERSION):
        raise ImportError(
            f'mmsplitmix needs PyTorch >= {MINIMUM_TORCH_VERSION}, but torch '
            f'{torch_version} is installed; install a newer torch together '
            'with the torchvision built for it')
