"""Weights-only loading of mmengine training checkpoints.

Since PyTorch 2.6, ``torch.load`` unpickles in weights-only mode unless told
otherwise, and mmengine 0.10 does not tell it: loading a checkpoint that
mmengine itself wrote (resume, ``load_from``, testing, mmpretrain's
``get_model``) fails on the logging buffers it holds, ``Unsupported global:
mmengine.logging.history_buffer.HistoryBuffer``
(https://github.com/open-mmlab/mmengine/issues/1655).

This module keeps weights-only loading and allows, besides what PyTorch
allows, exactly the types mmengine training checkpoints hold:
``HistoryBuffer`` (with the ``getattr`` of its statistics methods, which
pickle stores) and NumPy arrays and scalars of plain numeric dtypes. A file
holding any other pickled object is still refused before any of it is built.
To load a legacy file you trust with full unpickling, set PyTorch's own
``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1``.
"""
import os
import os.path as osp
import pickle
import zipfile
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.logging import HistoryBuffer
from mmpretrain.registry import HOOKS

_NUMERIC_DTYPES = ('bool', 'int8', 'int16', 'int32', 'int64', 'uint8',
                   'uint16', 'uint32', 'uint64', 'float16', 'float32',
                   'float64')
_STATISTICS = ('min', 'max', 'current', 'mean')


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds pickled objects outside the allowed types."""


class CorruptCheckpointError(ValueError):
    """A checkpoint file is empty, truncated or not a PyTorch checkpoint."""


def _history_buffer_statistic(owner, name):
    """``getattr`` while unpickling: only a HistoryBuffer statistic."""
    if owner is HistoryBuffer and name in _STATISTICS:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'getattr({owner!r}, {name!r}) is not allowed in a checkpoint')


def checkpoint_safe_globals() -> list:
    """What :func:`torch.serialization.safe_globals` needs, besides
    PyTorch's defaults, for mmengine training checkpoints."""
    multiarray = getattr(np, '_core', None) or np.core  # NumPy 2, NumPy 1
    entries = [
        HistoryBuffer, np.ndarray, np.dtype,
        (_history_buffer_statistic, 'builtins.getattr')
    ]
    for package in ('numpy.core', 'numpy._core'):
        for name in ('_reconstruct', 'scalar'):
            entries.append((getattr(multiarray.multiarray,
                                    name), f'{package}.multiarray.{name}'))
    entries += list({type(np.dtype(name))
                     for name in _NUMERIC_DTYPES} - {np.dtype})
    return entries


_depth = 0  # blocks of safe_checkpoint_loading entered, in this process


@contextmanager
def safe_checkpoint_loading():
    """Let ``torch.load`` (and so mmengine, ``get_model``,
    ``inference_model``) read mmengine training checkpoints weights-only,
    inside the block. Blocks may nest.

    Example:
        >>> from mmpretrain import get_model
        >>> with safe_checkpoint_loading():
        ...     model = get_model(name, pretrained='work_dirs/x/epoch_100.pth')
    """
    global _depth
    # torch's safe_globals is not reentrant: the innermost exit would
    # remove what the outer blocks allowed
    scope = torch.serialization.safe_globals(checkpoint_safe_globals())
    if _depth == 0:
        scope.__enter__()
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0:
            scope.__exit__(None, None, None)


def full_unpickling_forced() -> bool:
    """Whether the user set ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD``."""
    value = os.environ.get('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '0')
    return value.strip().lower() in ('1', 'y', 'yes', 'true')


def read_checkpoint(path: str, mmap: bool = True) -> Any:
    """Read a local checkpoint weights-only, with errors that name it.

    Args:
        path (str): The file.
        mmap (bool): Map the tensors instead of reading them (zip-format
            files): the structure is read and checked, the tensor data only
            when used. Defaults to True.

    Raises:
        FileNotFoundError: The file does not exist.
        UnsafeCheckpointError: It holds other pickled objects.
        CorruptCheckpointError: It cannot be read (empty, truncated...).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint file not found: {path!r}')
    with open(path, 'rb') as f:
        head = f.read(1)
    # a zip archive, or the pickles of torch's legacy format
    if not zipfile.is_zipfile(path) and head != b'\x80':
        raise CorruptCheckpointError(
            f'{path!r} is not a PyTorch checkpoint (nor a complete one)')
    try:
        with safe_checkpoint_loading():
            return torch.load(
                path,
                map_location='cpu',
                mmap=mmap and zipfile.is_zipfile(path),
                weights_only=True)
    except pickle.UnpicklingError as error:
        found = ''
        if zipfile.is_zipfile(path):
            with safe_checkpoint_loading():
                found = ' (' + ', '.join(
                    torch.serialization.get_unsafe_globals_in_checkpoint(
                        path)) + ')'
        raise UnsafeCheckpointError(
            f'refused to load checkpoint {path!r}: it holds pickled objects '
            f'other than tensors and the types of mmengine checkpoints'
            f'{found}; none of it was run. If you trust the file, load it '
            'with TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1.') from error
    except Exception as error:  # noqa: BLE001 - any reading failure
        raise CorruptCheckpointError(
            f'cannot read checkpoint {path!r} (empty, truncated or not a '
            f'PyTorch checkpoint): {type(error).__name__}: {error}') from error


@HOOKS.register_module()
class SafeLoadingHook(Hook):
    """Load the run's checkpoints weights-only (see the module).

    From ``before_run``, which mmengine calls before it loads or resumes,
    to ``after_run``, ``torch.load`` allows the types of mmengine
    checkpoints besides tensors. A local ``load_from`` file is read first
    (its tensors mapped, not read), so that a file holding other objects,
    or a damaged one, is refused with an error naming it.
    """

    priority = 'VERY_HIGH'

    def __init__(self):
        self._scope = None

    def before_run(self, runner) -> None:
        if self._scope is None:
            self._scope = safe_checkpoint_loading()
            self._scope.__enter__()
        load_from = runner.cfg.get('load_from')
        if (isinstance(load_from, str) and '://' not in load_from
                and not full_unpickling_forced()):
            read_checkpoint(osp.expanduser(load_from))

    def after_run(self, runner) -> None:
        if self._scope is not None:
            self._scope.__exit__(None, None, None)
            self._scope = None
