"""Safe loading of checkpoint files.

mmengine 0.10.x reads local checkpoints with ``torch.load(filename)``. Since
torch 2.6 that call unpickles in *weights-only* mode, which refuses the
non-tensor objects mmengine itself writes into training checkpoints (the
``message_hub`` state holds ``HistoryBuffer`` objects with NumPy arrays), so
resume, ``load_from``, testing and ``mmpretrain.get_model(...,
pretrained=...)`` all fail on checkpoints written by mmengine.

This module replaces mmengine's loader for local files (registered at
``import mmsplitmix``) with one that keeps weights-only unpickling on and
allows exactly the extra types that mmengine training checkpoints contain:

* ``mmengine.logging.HistoryBuffer`` and the look-up of its built-in
  statistics methods (``min``, ``max``, ``current``, ``mean``), which
  pickle stores as ``getattr(HistoryBuffer, name)``; ``getattr`` is allowed
  for nothing else;
* NumPy arrays and scalars of boolean, integer and floating-point dtypes
  (``ndarray``, ``dtype`` and its numeric subclasses, the array and scalar
  reconstructors), under both the NumPy 1 and NumPy 2 module names.

Everything torch's weights-only unpickler allows by default (tensors,
containers, numbers, strings, ``OrderedDict``, ``Counter``, ...) loads as
usual. A file holding any other pickled object is refused with
:class:`UnsafeCheckpointError` before any object of it is built, so no code
in it runs.

Trusted legacy files (e.g. checkpoints pickled with custom classes) load
only through an explicit opt-in: set the environment variable
``MMSPLITMIX_TRUSTED_CHECKPOINTS=1`` (the tools' ``--trust-checkpoint`` flag
sets it). Full unpickling can run arbitrary code, so use it only for files
whose origin you trust.

A missing file raises :class:`FileNotFoundError`; an empty, truncated or
otherwise unreadable file raises :class:`CorruptCheckpointError`. Both name
the file.
"""
import logging
import os
import os.path as osp
import pickle
import pickletools
import re
import zipfile
from typing import Any, Callable, List, Optional, Tuple, Union

import numpy as np
import torch
from mmengine.logging import HistoryBuffer, print_log
from mmengine.runner.checkpoint import CheckpointLoader

TRUSTED_CHECKPOINTS_ENV = 'MMSPLITMIX_TRUSTED_CHECKPOINTS'

# The statistics mmengine registers on every HistoryBuffer; pickle stores
# them as ``getattr(HistoryBuffer, name)`` in the buffer's state.
HISTORY_BUFFER_STATISTICS = ('min', 'max', 'current', 'mean')

# NumPy dtypes allowed inside checkpoints: plain numbers only (no object,
# string or structured dtypes).
ALLOWED_NUMPY_DTYPES = ('bool', 'int8', 'int16', 'int32', 'int64', 'uint8',
                        'uint16', 'uint32', 'uint64', 'float16', 'float32',
                        'float64')

_TRUE_VALUES = ('1', 'true', 'yes', 'on')
_FALSE_VALUES = ('', '0', 'false', 'no', 'off')


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds pickled objects outside the allowed types."""


class CorruptCheckpointError(ValueError):
    """A checkpoint file is empty, truncated or not a PyTorch checkpoint."""


def trusted_checkpoints_enabled() -> bool:
    """Whether full (unsafe) unpickling was enabled by the user.

    Reads ``MMSPLITMIX_TRUSTED_CHECKPOINTS``: ``1``/``true``/``yes``/``on``
    enable it, unset/empty/``0``/``false``/``no``/``off`` keep it off.

    Raises:
        ValueError: If the variable holds any other value.
    """
    value = os.environ.get(TRUSTED_CHECKPOINTS_ENV, '').strip().lower()
    if value in _TRUE_VALUES:
        return True
    if value in _FALSE_VALUES:
        return False
    raise ValueError(
        f'{TRUSTED_CHECKPOINTS_ENV} must be one of '
        f'{_TRUE_VALUES + _FALSE_VALUES[1:]} (or unset), got {value!r}')


def _history_buffer_statistic(owner: Any, name: Any) -> Callable:
    """Stand-in for ``getattr`` during unpickling.

    Resolves only ``getattr(HistoryBuffer, <built-in statistic>)``, the one
    use of ``getattr`` in mmengine checkpoints.
    """
    if owner is HistoryBuffer and name in HISTORY_BUFFER_STATISTICS:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'getattr({owner!r}, {name!r}) is not allowed in a checkpoint; only '
        f'the HistoryBuffer statistics {HISTORY_BUFFER_STATISTICS} are')


def _numpy_multiarray_functions() -> List[Tuple[Callable, str]]:
    """NumPy's array/scalar reconstructors under the module names NumPy 1
    (``numpy.core``) and NumPy 2 (``numpy._core``) pickle them with."""
    core = getattr(np, '_core', None)
    if core is None:  # NumPy 1
        core = np.core
    multiarray = core.multiarray
    entries = []
    for package in ('numpy.core', 'numpy._core'):
        for name in ('_reconstruct', 'scalar'):
            entries.append((getattr(multiarray,
                                    name), f'{package}.multiarray.{name}'))
    return entries


def checkpoint_safe_globals() -> List[Union[Callable, Tuple[Callable, str]]]:
    """The globals allowed in checkpoints on top of torch's defaults.

    Returns:
        list: Entries for :func:`torch.serialization.safe_globals`.
    """
    entries: List[Union[Callable, Tuple[Callable, str]]] = [
        HistoryBuffer,
        (_history_buffer_statistic, 'builtins.getattr'),
        np.ndarray,
        np.dtype,
    ]
    entries.extend(_numpy_multiarray_functions())
    dtype_classes = {type(np.dtype(name)) for name in ALLOWED_NUMPY_DTYPES}
    # On NumPy 1 every dtype instance is of class ``np.dtype`` itself.
    entries.extend(cls for cls in dtype_classes if cls is not np.dtype)
    return entries


def _check_readable(filename: str) -> None:
    """Raise early, naming the file, when it is missing or cannot be a
    checkpoint at all."""
    if not osp.exists(filename):
        raise FileNotFoundError(f'Checkpoint file not found: {filename!r}')
    if not osp.isfile(filename):
        raise FileNotFoundError(f'Checkpoint path is not a file: {filename!r}')
    if osp.getsize(filename) == 0:
        raise CorruptCheckpointError(f'Checkpoint file {filename!r} is empty.')
    if zipfile.is_zipfile(filename):
        return
    with open(filename, 'rb') as f:
        # Files of torch's legacy (non-zip) format start with a pickle
        # header, followed by four more pickles (magic number, protocol,
        # system info, the object, the storage keys) and raw storages.
        if f.read(1) != b'\x80':
            raise CorruptCheckpointError(
                f'Checkpoint file {filename!r} is truncated, corrupt or not '
                'a PyTorch checkpoint (neither a complete zip archive nor a '
                'legacy torch.save file).')
        f.seek(0)
        try:
            for _ in range(5):
                # Reads the opcodes only: nothing is built or imported.
                for _ in pickletools.genops(f):
                    pass
        except Exception as error:  # noqa: BLE001 - damaged pickle data
            raise CorruptCheckpointError(
                f'Checkpoint file {filename!r} is truncated or corrupt '
                f'(legacy torch.save format: {error}).') from error


def _weights_only_reason(error: BaseException) -> str:
    """The unpickler's own explanation inside torch's long message."""
    text = str(error)
    marker = 'WeightsUnpickler error:'
    if marker in text:
        text = text.split(marker, 1)[1]
        text = text.split('Check the documentation of torch.load', 1)[0]
    # Drop torch's advice to allowlist the global: that is the user's call.
    text = text.split('Please use `torch.serialization', 1)[0]
    text = ' '.join(text.split())
    return text if text.endswith('.') else text + '.'


_UNSAFE_MARKERS = ('Unsupported global', 'Trying to call reduce',
                   'Can only build', 'Can only create new object',
                   'is not allowed in a checkpoint', 'is blocked')
_CORRUPT_MARKERS = ('PytorchStreamReader', 'zip archive', 'unexpected EOF',
                    'might be corrupted')
_QUALIFIED_NAME = re.compile(r'^[A-Za-z_]\w*(\.[A-Za-z_]\w*)+$')


def _is_refusal(reason: str) -> bool:
    """Whether the weights-only unpickler refused an object (rather than
    failing on damaged data, e.g. a legacy file cut inside a name)."""
    if not any(marker in reason for marker in _UNSAFE_MARKERS):
        return False
    named = re.search(r'GLOBAL (\S+) was not an allowed global', reason)
    return named is None or _QUALIFIED_NAME.match(named.group(1)) is not None


def _unsafe_globals(filename: str) -> List[str]:
    """Globals in a zip checkpoint beyond the allowed ones (best effort; the
    scan reads the pickle without building anything)."""
    if not zipfile.is_zipfile(filename):
        return []
    try:
        with torch.serialization.safe_globals(checkpoint_safe_globals()):
            return list(
                torch.serialization.get_unsafe_globals_in_checkpoint(filename))
    except Exception:  # noqa: BLE001 - only used to improve the message
        return []


def load_checkpoint_file(filename: str,
                         map_location: Optional[Any] = None,
                         trusted: Optional[bool] = None) -> Any:
    """Load a local checkpoint file safely.

    Args:
        filename (str): Path of the checkpoint file (``~`` is expanded).
        map_location (optional): Same as for :func:`torch.load`.
        trusted (bool, optional): Unpickle without restrictions. Only for
            files whose origin you trust: unpickling can run arbitrary code.
            Defaults to None, which reads ``MMSPLITMIX_TRUSTED_CHECKPOINTS``.

    Returns:
        The loaded object (for mmengine checkpoints a dict with ``meta``,
        ``state_dict``, ``message_hub``, ``optimizer``,
        ``param_schedulers``).

    Raises:
        FileNotFoundError: If the file does not exist.
        CorruptCheckpointError: If the file is empty, truncated or corrupt.
        UnsafeCheckpointError: If the file holds pickled objects outside
            the allowed types (and ``trusted`` is off).
    """
    filename = osp.expanduser(str(filename))
    _check_readable(filename)
    if trusted is None:
        trusted = trusted_checkpoints_enabled()
    if trusted:
        print_log(
            f'Loading checkpoint {filename!r} with full unpickling because '
            f'{TRUSTED_CHECKPOINTS_ENV} is set: only do this for files you '
            'trust.',
            logger='current',
            level=logging.WARNING)
    try:
        if trusted:
            return torch.load(
                filename, map_location=map_location, weights_only=False)
        with torch.serialization.safe_globals(checkpoint_safe_globals()):
            return torch.load(
                filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        reason = _weights_only_reason(error)
        if not trusted and _is_refusal(reason):
            found = _unsafe_globals(filename)
            found_text = f' ({", ".join(found)})' if found else ''
            raise UnsafeCheckpointError(
                f'Refused to load checkpoint {filename!r}: it holds pickled '
                f'objects outside the types allowed in checkpoints'
                f'{found_text}. Loading stopped at the first such object, so '
                f'no code from the file ran. Reason: {reason} '
                'If the file comes from a source you trust (for example an '
                'old checkpoint with custom classes), set '
                f'{TRUSTED_CHECKPOINTS_ENV}=1 to load it with full '
                'unpickling.') from None
        raise CorruptCheckpointError(
            f'Checkpoint file {filename!r} is truncated or corrupt: '
            f'{reason}') from error
    except RuntimeError as error:
        message = str(error)
        if any(marker in message for marker in _CORRUPT_MARKERS):
            raise CorruptCheckpointError(
                f'Checkpoint file {filename!r} is truncated or corrupt: '
                f'{message}') from error
        raise RuntimeError(
            f'Failed to load checkpoint {filename!r}: {message}') from error
    except Exception as error:  # noqa: BLE001 - any other read failure
        raise CorruptCheckpointError(
            f'Checkpoint file {filename!r} is truncated or corrupt '
            f'({type(error).__name__}: {error})') from error


def load_from_local_file(filename: str, map_location: Optional[Any] = None):
    """mmengine ``CheckpointLoader`` backend for local paths.

    See :func:`load_checkpoint_file`.
    """
    return load_checkpoint_file(filename, map_location=map_location)


def register_safe_checkpoint_loader() -> None:
    """Make mmengine load every local checkpoint through
    :func:`load_checkpoint_file` (resume, ``load_from``, ``get_model``)."""
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_from_local_file, force=True)
