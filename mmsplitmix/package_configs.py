"""``mmsplitmix::`` and ``mmpretrain::`` config paths under mmengine 0.10.

mmengine resolves a ``package::path`` config (in ``_base_``,
``Config.fromfile``, ``mmengine.hub.get_config`` and ``get_model``) only for
the packages of its fixed table ``mmengine.config.utils.MODULE2PACKAGE``,
and finds their folder with ``pkg_resources``. setuptools 81 removed
``pkg_resources`` (every ``package::`` path then fails), and for an editable
install (PEP 660) it answers ``site-packages/<package>``, which does not
exist. mmengine replaced ``pkg_resources`` by ``importlib`` upstream
(https://github.com/open-mmlab/mmengine/pull/1676), in no release yet.

Inside :func:`package_configs`, mmengine knows ``mmsplitmix::`` and finds
installed packages with ``importlib``; leaving the block restores mmengine
as it was. mmsplitmix's tools load configs inside it.
"""
import importlib
import importlib.metadata
import importlib.util
import os.path as osp
from contextlib import contextmanager

PACKAGE = 'mmsplitmix'

# mmengine's lookup functions, where mmengine modules hold them by name.
_LOOKUPS = {
    'mmengine.utils.package_utils': ('is_installed', 'get_installed_path'),
    'mmengine.utils': ('is_installed', 'get_installed_path'),
    'mmengine.config.config': ('is_installed', 'get_installed_path'),
    'mmengine.hub.hub': ('get_installed_path', ),
}


def _module_of(package: str) -> str:
    """The top-level module a distribution installs (``mmcv-lite`` ->
    ``mmcv``), or ``package`` itself."""
    try:
        dist = importlib.metadata.distribution(package)
    except importlib.metadata.PackageNotFoundError:
        return package
    top_level = (dist.read_text('top_level.txt') or '').split()
    return top_level[0] if top_level else package.replace('-', '_')


def is_installed(package: str) -> bool:
    """Whether ``package`` imports (as a regular package or module)."""
    importlib.invalidate_caches()
    spec = importlib.util.find_spec(_module_of(package))
    return spec is not None and spec.origin is not None


def get_installed_path(package: str) -> str:
    """The folder ``package`` imports from: the working tree of an
    editable install, ``site-packages/<module>`` of another."""
    spec = importlib.util.find_spec(_module_of(package))
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(f'{package} is not installed (or is a '
                                  'namespace package)')
    return osp.dirname(spec.origin)


@contextmanager
def package_configs():
    """Let mmengine resolve ``mmsplitmix::`` and ``mmpretrain::`` config
    paths in any install, inside the block.

    Example:
        >>> from mmengine.config import Config
        >>> with package_configs():
        ...     # my_config.py: _base_ = ['mmsplitmix::...']
        ...     cfg = Config.fromfile('my_config.py')
    """
    from mmengine.config import utils as config_utils
    replaced = []
    for module_name, names in _LOOKUPS.items():
        module = importlib.import_module(module_name)
        for name in names:
            replaced.append((module, name, getattr(module, name)))
            setattr(module, name, globals()[name])
    added = PACKAGE not in config_utils.MODULE2PACKAGE
    config_utils.MODULE2PACKAGE.setdefault(PACKAGE, PACKAGE)
    try:
        yield
    finally:
        if added:
            del config_utils.MODULE2PACKAGE[PACKAGE]
        for module, name, original in reversed(replaced):
            setattr(module, name, original)
