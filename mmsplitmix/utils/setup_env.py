"""mmsplitmix as an OpenMMLab package: ``register_all_modules``, the
``mmsplitmix::`` config prefix, and installed-package lookup that does not
need ``pkg_resources``.

``import mmsplitmix`` calls :func:`register_package` once, after which
mmengine resolves, like the ``mmpretrain::`` ones:

- ``_base_ = ['mmsplitmix::splitmixer/splitmixer-i-256-8_1xb512_cifar10.py']``
  in a user's config (and ``mmengine.hub.get_config`` / ``get_model``);
- ``_base_ = ['mmpretrain::_base_/default_runtime.py']`` also where
  ``pkg_resources`` is missing (setuptools >= 81 no longer ships it).
  mmengine 0.10 looks packages up with it; only where it cannot be imported
  are mmengine's three lookup functions replaced by the importlib-based ones
  of this module, which give the same answers. Elsewhere mmengine is left
  as it is.
"""
import datetime
import importlib
import importlib.metadata
import importlib.util
import os.path as osp
import warnings
from typing import Optional

from mmengine.registry import DefaultScope

SCOPE = 'mmsplitmix'
DISTRIBUTION = 'mmsplitmix'


def register_all_modules(init_default_scope: bool = True) -> None:
    """Register the modules of mmsplitmix and mmpretrain in their registries.

    Args:
        init_default_scope (bool): Whether to make ``mmsplitmix`` the default
            scope, so that registries build from the ``mmsplitmix`` nodes,
            which also find every mmpretrain and mmengine module. If another
            scope is current, it is replaced with a warning, as mmpretrain's
            ``register_all_modules`` does. Defaults to True.
    """
    from mmpretrain.utils import register_all_modules as register_mmpretrain

    import mmsplitmix.datasets  # noqa: F401
    import mmsplitmix.engine  # noqa: F401
    import mmsplitmix.models  # noqa: F401
    import mmsplitmix.registry  # noqa: F401
    register_mmpretrain(init_default_scope=False)

    if not init_default_scope:
        return
    current = DefaultScope.get_current_instance()
    if current is None:
        DefaultScope.get_instance(SCOPE, scope_name=SCOPE)
    elif current.scope_name != SCOPE:
        warnings.warn(
            f'The current default scope "{current.scope_name}" is not '
            f'"{SCOPE}"; register_all_modules makes it "{SCOPE}". Pass '
            'init_default_scope=False to keep it.')
        DefaultScope.get_instance(
            f'{SCOPE}-{datetime.datetime.now()}', scope_name=SCOPE)


# Installed-package lookup. mmengine 0.10 finds packages with pkg_resources
# (is_installed, get_installed_path), which setuptools >= 81 removed; these
# do the same with importlib.metadata and importlib.util.


def _distribution(package: str) -> Optional[importlib.metadata.Distribution]:
    # See packages installed since the interpreter started (mmengine's hub
    # pip-installs a missing package, then looks it up).
    importlib.invalidate_caches()
    try:
        return importlib.metadata.distribution(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def package2module(package: str) -> str:
    """Name of the top-level module that the distribution ``package``
    installs (``mmcv-lite`` -> ``mmcv``).

    Raises:
        ValueError: If ``package`` is not installed or names no module.
    """
    dist = _distribution(package)
    if dist is None:
        raise ValueError(f'{package} is not installed')
    top_level = (dist.read_text('top_level.txt') or '').split()
    if top_level:
        return top_level[0]
    # Wheels built without top_level.txt: the first folder with an
    # __init__.py among the installed files.
    for file in dist.files or ():
        if file.name == '__init__.py' and len(file.parts) == 2:
            return file.parts[0]
    raise ValueError(f'can not infer the module name of {package}')


def is_installed(package: str) -> bool:
    """Whether ``package`` is installed, as a distribution or as an
    importable (non-namespace) module, e.g. one on ``PYTHONPATH``."""
    if _distribution(package) is not None:
        return True
    spec = importlib.util.find_spec(package)
    return spec is not None and spec.origin is not None


def get_installed_path(package: str) -> str:
    """Folder of the module that ``package`` installs.

    The module is located by import machinery, so an editable install or a
    package on ``PYTHONPATH`` gives its real folder.

    Raises:
        ModuleNotFoundError: If neither a distribution nor a module of that
            name is found.
        RuntimeError: If the module is a namespace package.
    """
    module = package
    if importlib.util.find_spec(module) is None and \
            _distribution(package) is not None:
        module = package2module(package)
    spec = importlib.util.find_spec(module)
    if spec is None:
        raise ModuleNotFoundError(
            f'{package} is not installed; install it with '
            f'`pip install {package}`')
    if spec.origin is None:
        raise RuntimeError(
            f'{package} is a namespace package, which has no installed path')
    return osp.dirname(spec.origin)


# Where mmengine holds the pkg_resources-based functions: the defining
# module and the modules that imported them by name.
_LOOKUP_FUNCTIONS = {
    'mmengine.utils.package_utils':
    ('is_installed', 'get_installed_path', 'package2module'),
    'mmengine.utils': ('is_installed', 'get_installed_path'),
    'mmengine.config.config': ('is_installed', 'get_installed_path'),
    'mmengine.hub.hub': ('get_installed_path', ),
}


def use_importlib_package_lookup() -> None:
    """Make mmengine find installed packages with this module's functions
    instead of ``pkg_resources``.

    Raises:
        RuntimeError: If an mmengine module no longer holds one of the
            functions (a changed mmengine), rather than leaving a lookup
            that fails later.
    """
    replacements = {
        'is_installed': is_installed,
        'get_installed_path': get_installed_path,
        'package2module': package2module,
    }
    for module_name, names in _LOOKUP_FUNCTIONS.items():
        module = importlib.import_module(module_name)
        for name in names:
            if not hasattr(module, name):
                raise RuntimeError(
                    f'{module_name}.{name} not found: this mmengine is not '
                    'the one mmsplitmix supports (mmengine>=0.10.7,<0.11)')
            setattr(module, name, replacements[name])


def register_package_scope() -> None:
    """Let mmengine resolve ``mmsplitmix::`` config paths."""
    from mmengine.config import utils as config_utils

    # PKG2PROJECT is the same dict under its older name.
    config_utils.MODULE2PACKAGE.setdefault(SCOPE, DISTRIBUTION)


def pkg_resources_available() -> bool:
    """Whether ``pkg_resources`` (which mmengine's package lookup imports)
    imports."""
    try:
        with warnings.catch_warnings():
            # setuptools 67-80 warn that the module is deprecated.
            warnings.simplefilter('ignore')
            import pkg_resources  # noqa: F401
    except ImportError:
        return False
    return True


def register_package() -> None:
    """Everything ``import mmsplitmix`` sets up in mmengine: the
    ``mmsplitmix::`` prefix and, where ``pkg_resources`` is missing,
    package lookup without it."""
    register_package_scope()
    if not pkg_resources_available():
        use_importlib_package_lookup()
