"""Checks of the tools' inputs that name the file, argument or value at
fault: config files, ``--cfg-options``, the training settings and mixed
precision (which needs a GPU)."""
import ast
import os
import os.path as osp
import re
from typing import Optional, Tuple

from mmengine.config import Config, DictAction

#: The devices mmengine trains and tests in mixed precision on: its
#: ``AmpOptimWrapper`` refuses any other.
AMP_DEVICES = ('cuda', 'npu', 'mlu', 'musa')


class ConfigError(ValueError):
    """A config file cannot be read, or a setting in it is invalid."""


def amp_device_available() -> bool:
    """Whether the device the Runner will use (mmengine's ``get_device``)
    is one of :data:`AMP_DEVICES`."""
    from mmengine.device import get_device
    return get_device() in AMP_DEVICES


def check_amp_device(setting: str, instead: str) -> None:
    """Refuse mixed precision on a machine without a GPU.

    Args:
        setting (str): What asks for mixed precision, e.g. ``'--amp'``.
        instead (str): How to run in full precision instead.

    Raises:
        ConfigError: No device of :data:`AMP_DEVICES` is present; the
            message names ``setting`` and says ``instead``.
    """
    if not amp_device_available():
        raise ConfigError(
            f'{setting}: mixed precision needs a GPU (CUDA, NPU, MLU or '
            f'MUSA) and none was found; {instead}')


def _is_amp_wrapper(wrapper_type) -> bool:
    """Whether an ``optim_wrapper.type`` names mmengine's AmpOptimWrapper
    or a subclass of it."""
    from mmengine.optim import AmpOptimWrapper
    from mmpretrain.registry import OPTIM_WRAPPERS
    if isinstance(wrapper_type, str):
        wrapper_type = OPTIM_WRAPPERS.get(wrapper_type)
    return isinstance(wrapper_type, type) and issubclass(
        wrapper_type, AmpOptimWrapper)


class KeyValueAction(DictAction):
    """mmengine's ``DictAction`` (``KEY=VALUE`` pairs, values parsed as
    numbers, lists, tuples, ...) that reports a malformed pair through the
    parser, naming it, instead of a traceback."""

    def __call__(self, parser, namespace, values, option_string=None):
        for item in values:
            key, sep, _ = item.partition('=')
            if not sep or not key.strip():
                parser.error(
                    f'{option_string}: {item!r} is not a KEY=VALUE pair '
                    '(e.g. train_cfg.max_epochs=10; no spaces around "=")')
        try:
            super().__call__(parser, namespace, values, option_string)
        except (AssertionError, ValueError, SyntaxError) as error:
            parser.error(f'{option_string}: cannot parse {values}: '
                         f'{error or "unbalanced brackets or quotes"}')


def _base_files(path: str):
    """The local ``_base_`` files a config file names (best effort)."""
    try:
        tree = ast.parse(open(path, encoding='utf-8').read())
    except (OSError, SyntaxError, ValueError):
        return []
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id == '_base_'):
            try:
                bases = ast.literal_eval(node.value)
            except ValueError:
                return []
            bases = [bases] if isinstance(bases, str) else list(bases)
            return [
                osp.join(osp.dirname(path), base) for base in bases
                if isinstance(base, str) and '::' not in base
            ]
    return []


def find_syntax_error(path: str,
                      _seen=None) -> Optional[Tuple[str, SyntaxError]]:
    """The first config file, ``path`` or one of its bases, that is not
    valid Python, with its error."""
    seen = set() if _seen is None else _seen
    path = osp.abspath(path)
    if path in seen or not osp.isfile(path):
        return None
    seen.add(path)
    try:
        with open(path, encoding='utf-8') as f:
            compile(f.read(), path, 'exec')
    except SyntaxError as error:
        return path, error
    except (OSError, ValueError):
        return None
    for base in _base_files(path):
        found = find_syntax_error(base, seen)
        if found:
            return found
    return None


def load_config(path: str) -> Config:
    """``Config.fromfile`` whose errors name the file at fault.

    Raises:
        ConfigError: The file (or one of its ``_base_`` files) is not
            valid Python, names a missing base, or fails to run.
    """
    try:
        return Config.fromfile(path)
    except SyntaxError as error:
        found = find_syntax_error(path)
        if found is not None:
            bad, syntax = found
            where = (f'line {syntax.lineno}'
                     if syntax.lineno else 'an unknown line')
            text = (syntax.text or '').strip()
            shown = f': {text}' if text else ''
            raise ConfigError(
                f'config file {bad!r} has a syntax error at {where} '
                f'({syntax.msg}){shown}' +
                ('' if bad == osp.abspath(path) else f' (a base of {path!r})')
            ) from None
        raise ConfigError(
            f'config file {path!r} (or one of its bases) has a syntax error: '
            f'{error}') from None
    except FileNotFoundError as error:
        missing = error.filename or str(error)
        raise ConfigError(
            f'config file {path!r}: a file it needs was not found: '
            f'{missing!r}') from None
    except Exception as error:  # noqa: BLE001 - code in the config failed
        raise ConfigError(f'config file {path!r} could not be loaded: '
                          f'{type(error).__name__}: {error}') from None


def merge_cfg_options(cfg: Config, options: Optional[dict]) -> None:
    """``cfg.merge_from_dict(options)``, failing with a
    :class:`ConfigError` that names the option."""
    if not options:
        return
    try:
        cfg.merge_from_dict(options)
    except Exception as error:  # noqa: BLE001 - e.g. a key into a list
        raise ConfigError(f'--cfg-options {options}: {type(error).__name__}: '
                          f'{error}') from None


_UNEXPECTED_ARGUMENT = re.compile(r"unexpected keyword argument '([^']+)'")


def misspelt_option_error(error: TypeError,
                          options: Optional[dict]) -> Optional[str]:
    """What to say of a ``TypeError`` that a constructor raised for an
    argument ``--cfg-options`` added (a misspelt key, say); None when the
    error names no such argument."""
    match = _UNEXPECTED_ARGUMENT.search(str(error))
    if match is None or not options:
        return None
    keys = [key for key in options if key.rsplit('.', 1)[-1] == match.group(1)]
    if not keys:
        return None
    pairs = ' '.join(f'{key}={options[key]!r}' for key in keys)
    return (f'--cfg-options {pairs}: {error}. No such setting there: check '
            'the spelling of the key.')


def _positive_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and (value
                                                                       > 0)


def check_train_settings(cfg: Config) -> None:
    """Check the settings of a training config that mmengine would
    misreport or accept silently, and that an ``AmpOptimWrapper`` has a GPU
    to run on (mmengine would fail later with a bare assertion).

    Raises:
        ConfigError: Naming the setting, its value and what is expected.
    """
    train_cfg = cfg.get('train_cfg')
    if not isinstance(train_cfg, dict):
        raise ConfigError('the config has no train_cfg (e.g. train_cfg = '
                          'dict(by_epoch=True, max_epochs=100))')
    loop_type = str(train_cfg.get('type', ''))
    by_epoch = train_cfg.get('by_epoch', 'Iter' not in loop_type)
    key = 'max_epochs' if by_epoch else 'max_iters'
    if key not in train_cfg:
        raise ConfigError(f'train_cfg.{key} is not set; expected a positive '
                          'int')
    for name in ('max_epochs', 'max_iters', 'val_interval', 'val_begin'):
        if name not in train_cfg:
            continue
        value = train_cfg[name]
        if name == 'val_begin':
            ok = isinstance(value, int) and value >= 0
            expected = 'an int >= 0'
        else:
            ok = _positive_int(value)
            expected = 'a positive int'
        if not ok:
            raise ConfigError(
                f'train_cfg.{name} must be {expected}, got {value!r}')
    for field in ('train_dataloader', 'val_dataloader'):
        loader = cfg.get(field)
        if not isinstance(loader, dict):
            continue
        if 'batch_size' in loader and not _positive_int(loader.batch_size):
            raise ConfigError(f'{field}.batch_size must be a positive int, '
                              f'got {loader.batch_size!r}')
        workers = loader.get('num_workers', 0)
        if not (isinstance(workers, int) and workers >= 0):
            raise ConfigError(f'{field}.num_workers must be an int >= 0, got '
                              f'{workers!r}')
    wrapper = cfg.get('optim_wrapper')
    if isinstance(wrapper, dict) and _is_amp_wrapper(wrapper.get('type')):
        check_amp_device(
            f'optim_wrapper.type={wrapper["type"]!r}',
            'use a plain OptimWrapper (no optim_wrapper.type, loss_scale '
            'or dtype) to train in full precision (fp32)')


def launcher_rank(launcher: str) -> int:
    """This process's rank from the launcher's environment (0 when not
    distributed), before any process group exists."""
    names = {
        'pytorch': 'RANK',
        'slurm': 'SLURM_PROCID',
        'mpi': 'OMPI_COMM_WORLD_RANK'
    }
    name = names.get(launcher)
    value = os.environ.get(name, '0') if name else '0'
    return int(value) if value.isdigit() else 0


def output_dir_arg_error(path: Optional[str],
                         option: str = '--work-dir') -> Optional[str]:
    """Why the output directory ``path`` given as ``option`` cannot be
    used, or None."""
    if path is None:
        return None
    if osp.exists(path) and not osp.isdir(path):
        return f'{option} must be a directory, got the file {path!r}'
    return None


def check_output_file(option: str, path: str) -> None:
    """Refuse, before any work, an output file the tool could not write.

    Args:
        option (str): The option or argument naming it, for the message.
        path (str): The file to be written.

    Raises:
        FileNotFoundError: Its folder does not exist.
        ValueError: ``path`` is a folder, or its folder is not writable.
    """
    if osp.isdir(path):
        raise ValueError(
            f'{option} {path!r} is a folder, expected a file path')
    folder = osp.dirname(osp.abspath(path))
    if not osp.isdir(folder):
        raise FileNotFoundError(
            f'{option} {path!r}: its folder {folder!r} does not exist')
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(
            f'{option} {path!r}: its folder {folder!r} is not writable')


def user_errors() -> tuple:
    """Errors whose message says all there is to know: the tools print it
    without a traceback."""
    from mmsplitmix.datasets.local_datasets import (CorruptDatasetError,
                                                    DatasetNotFoundError)
    from mmsplitmix.datasets.split_classes import SplitClassesError
    from .atomic_io import CheckpointSaveError
    from .checkpoint import CorruptCheckpointError, UnsafeCheckpointError
    from .state_dict_fit import CheckpointMismatchError
    from .work_dir import WorkDirInUseError
    return (CheckpointMismatchError, CheckpointSaveError,
            CorruptCheckpointError, CorruptDatasetError, DatasetNotFoundError,
            SplitClassesError, UnsafeCheckpointError, WorkDirInUseError,
            ConfigError)


__all__ = [
    'AMP_DEVICES', 'amp_device_available', 'check_amp_device', 'ConfigError',
    'KeyValueAction', 'load_config', 'merge_cfg_options',
    'check_train_settings', 'launcher_rank', 'output_dir_arg_error',
    'find_syntax_error', 'check_output_file', 'user_errors',
    'misspelt_option_error'
]
