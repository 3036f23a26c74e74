import re

__version__ = '0.1.0'

#: The oldest PyTorch mmsplitmix runs on. Safe checkpoint loading passes
#: ``(function, name)`` entries to ``torch.serialization.safe_globals``,
#: which torch accepts from 2.6 on. setup.py requires it; importing
#: mmsplitmix checks it.
MINIMUM_TORCH_VERSION = '2.6'


def parse_version_info(version_str):
    """``'1.2.0'`` -> ``(1, 2, 0)``; ``'1.2.0rc1'`` -> ``(1, 2, 0, 'rc1')``."""
    info = []
    for part in version_str.split('.'):
        number, suffix = re.fullmatch(r'(\d*)(.*)', part).groups()
        if number:
            info.append(int(number))
        if suffix:
            info.append(suffix)
    return tuple(info)


version_info = parse_version_info(__version__)


def release_of(version_str):
    """The release numbers of a version: ``'2.6.0+cu124'`` -> ``(2, 6, 0)``,
    ``'2.7.0a0+git1234'`` -> ``(2, 7, 0)``."""
    match = re.match(r'\d+(?:\.\d+)*', str(version_str))
    if match is None:
        raise ValueError(f'not a version number: {version_str!r}')
    return tuple(int(part) for part in match.group().split('.'))


def check_torch_version(torch_version):
    """Raise ImportError when ``torch_version`` is older than
    :data:`MINIMUM_TORCH_VERSION`."""
    if release_of(torch_version) < release_of(MINIMUM_TORCH_VERSION):
        raise ImportError(
            f'mmsplitmix needs PyTorch >= {MINIMUM_TORCH_VERSION}, but torch '
            f'{torch_version} is installed; install a newer torch together '
            'with the torchvision built for it')
