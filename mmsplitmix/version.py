import re

__version__ = '0.1.0'


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
