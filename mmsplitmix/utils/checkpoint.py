"""Safe loading of checkpoint files.

mmengine 0.10.x reads local checkpoints with ``torch.load(filename)``. Since
torch 2.6 that call unpickles in *weights-only* mode, which refuses the
non-tensor objects mmengine itself writes into training checkpoints (the
``message_hub`` state holds ``HistoryBuffer`` objects with NumPy arrays), so
resuming or loading a training checkpoint fails.

:func:`load_checkpoint_file` keeps weights-only unpickling on and allows
exactly the extra types that mmengine training checkpoints contain:

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

Nothing changes in mmengine at import. :func:`safe_checkpoint_loading` is a
context manager inside which mmengine's loading of local files
(``CheckpointLoader``: the Runner's resume and ``load_from``,
``mmengine.runner.load_checkpoint``, mmpretrain's ``get_model`` and
``inference_model``) goes through :func:`load_checkpoint_file`, for the
calling thread only; other threads, and all code once the block ends, get
mmengine's own loader. The tools run their Runner inside it.

Trusted legacy files (e.g. checkpoints pickled with custom classes) load
only through an explicit opt-in: set the environment variable
``MMSPLITMIX_TRUSTED_CHECKPOINTS=1`` (the tools' ``--trust-checkpoint`` flag
sets it). Full unpickling can run arbitrary code, so use it only for files
whose origin you trust.

A missing file raises :class:`FileNotFoundError`; an empty, truncated or
otherwise unreadable file raises :class:`CorruptCheckpointError`. Both name
the file. Which error is raised is decided from the file itself (its zip
structure, its pickle opcodes, the globals it names) and from the type of
exception torch raises, never from the wording of torch's messages.
"""
import logging
import os
import os.path as osp
import pickle
import pickletools
import threading
import zipfile
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Callable, Iterator, List, Optional, Tuple, Union

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


def _check_readable(filename: str) -> bool:
    """Raise early, naming the file, when it is missing or cannot be a
    complete checkpoint.

    Returns:
        bool: Whether the file is in torch's zip format (else the legacy
        format, whose pickles were found complete).
    """
    if not osp.exists(filename):
        raise FileNotFoundError(f'Checkpoint file not found: {filename!r}')
    if not osp.isfile(filename):
        raise FileNotFoundError(f'Checkpoint path is not a file: {filename!r}')
    if osp.getsize(filename) == 0:
        raise CorruptCheckpointError(f'Checkpoint file {filename!r} is empty.')
    if zipfile.is_zipfile(filename):
        # A zip archive is complete once its central directory, at the very
        # end of the file, is readable; torch.save writes the pickle as
        # ``<archive name>/data.pkl``.
        try:
            with zipfile.ZipFile(filename) as archive:
                names = archive.namelist()
        except (zipfile.BadZipFile, OSError) as error:
            raise CorruptCheckpointError(
                f'Checkpoint file {filename!r} is a damaged zip archive: '
                f'{error}') from error
        if not any(name.rsplit('/', 1)[-1] == 'data.pkl' for name in names):
            raise CorruptCheckpointError(
                f'Checkpoint file {filename!r} is a zip archive but not a '
                'PyTorch checkpoint (it has no data.pkl).')
        return True
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
    return False


def _disallowed_globals(filename: str) -> List[str]:
    """The globals a zip checkpoint names beyond the allowed ones, found by
    reading its pickle's opcodes (nothing is built or imported).

    The scan only lets a refusal name the globals before anything is
    unpickled; the weights-only unpickler enforces the rule either way, so
    a pickle the scan cannot read is left to it.
    """
    try:
        with torch.serialization.safe_globals(checkpoint_safe_globals()):
            return list(
                torch.serialization.get_unsafe_globals_in_checkpoint(filename))
    except Exception:  # noqa: BLE001 - torch.load decides
        return []


def _trust_advice() -> str:
    return ('If the file comes from a source you trust (for example an old '
            'checkpoint with custom classes), set '
            f'{TRUSTED_CHECKPOINTS_ENV}=1 to load it with full unpickling.')


def load_checkpoint_file(filename: str,
                         map_location: Optional[Any] = None,
                         trusted: Optional[bool] = None,
                         mmap: bool = False) -> Any:
    """Load a local checkpoint file safely.

    Args:
        filename (str): Path of the checkpoint file (``~`` is expanded).
        map_location (optional): Same as for :func:`torch.load`.
        trusted (bool, optional): Unpickle without restrictions. Only for
            files whose origin you trust: unpickling can run arbitrary code.
            Defaults to None, which reads ``MMSPLITMIX_TRUSTED_CHECKPOINTS``.
        mmap (bool): Map the tensors of a zip-format file from the file
            instead of reading them, as :func:`torch.load` does with
            ``mmap=True``: the structure is read and checked, the tensor
            data only when used. Ignored for legacy-format files. Defaults
            to False.

    Returns:
        The loaded object (for mmengine checkpoints a dict with ``meta``,
        ``state_dict``, ``message_hub``, ``optimizer``,
        ``param_schedulers``).

    Raises:
        FileNotFoundError: If the file does not exist.
        CorruptCheckpointError: If the file is empty, truncated or corrupt.
        UnsafeCheckpointError: If the file holds pickled objects outside
            the allowed types (and ``trusted`` is off).
        RuntimeError: If torch fails to read a complete zip checkpoint for
            another reason (e.g. CUDA tensors without ``map_location`` on a
            machine without CUDA); the message names the file.
    """
    filename = osp.expanduser(str(filename))
    is_zip = _check_readable(filename)
    if trusted is None:
        trusted = trusted_checkpoints_enabled()
    if trusted:
        print_log(
            f'Loading checkpoint {filename!r} with full unpickling because '
            f'{TRUSTED_CHECKPOINTS_ENV} is set: only do this for files you '
            'trust.',
            logger='current',
            level=logging.WARNING)
    elif is_zip:
        found = _disallowed_globals(filename)
        if found:
            raise UnsafeCheckpointError(
                f'Refused to load checkpoint {filename!r}: it names pickled '
                'objects outside the types allowed in checkpoints '
                f'({", ".join(found)}). Nothing of the file was unpickled, '
                f'so no code from it ran. {_trust_advice()}')
    options = dict(map_location=map_location, mmap=mmap and is_zip)
    try:
        if trusted:
            return torch.load(filename, weights_only=False, **options)
        with torch.serialization.safe_globals(checkpoint_safe_globals()):
            return torch.load(filename, weights_only=True, **options)
    except pickle.UnpicklingError as error:
        if trusted:
            raise CorruptCheckpointError(
                f'Checkpoint file {filename!r} is corrupt: {error}') from error
        # The weights-only unpickler refuses with UnpicklingError; the
        # pickles are complete (checked above), so this is a refusal, e.g.
        # of a call or a global of a legacy-format file. PyTorch's own
        # explanation is the chained exception.
        raise UnsafeCheckpointError(
            f'Refused to load checkpoint {filename!r}: PyTorch\'s '
            'weights-only unpickler stopped at a pickled object or call '
            'outside the types allowed in checkpoints (its explanation is '
            'the exception above). Loading stopped there, so no code from '
            f'the file ran. {_trust_advice()}') from error
    except Exception as error:  # noqa: BLE001 - any other read failure
        if is_zip:
            # The archive is complete, so this is not a truncated file.
            raise RuntimeError(f'Failed to load checkpoint {filename!r}: '
                               f'{type(error).__name__}: {error}') from error
        # A legacy file whose pickles are complete but whose raw storages
        # cannot be read: cut or damaged after the pickles.
        raise CorruptCheckpointError(
            f'Checkpoint file {filename!r} is truncated or corrupt '
            f'(legacy torch.save format; {type(error).__name__}: {error})'
        ) from error


# mmengine's CheckpointLoader keys local files by the empty prefix.
_LOCAL_PREFIX = ''
_safe_loading_active: ContextVar[bool] = ContextVar(
    'mmsplitmix_safe_checkpoint_loading', default=False)
_scope_lock = threading.Lock()
_scope_depth = 0
_replaced_loader: Optional[Callable] = None


def load_from_local_safely(filename: str, map_location: Optional[Any] = None):
    """The local-file loader registered while any
    :func:`safe_checkpoint_loading` block runs: the safe loader inside such
    a block, the loader it replaced everywhere else. (mmengine logs a
    loader by its name after ``load_from_``: "local_safely".)"""
    if _safe_loading_active.get():
        return load_checkpoint_file(filename, map_location=map_location)
    return _replaced_loader(filename, map_location)


@contextmanager
def safe_checkpoint_loading() -> Iterator[None]:
    """Load local checkpoint files safely through mmengine, in a block.

    Inside the block, what mmengine loads from a local path in this thread
    (the Runner's resume and ``load_from``, ``load_checkpoint``, mmpretrain's
    ``get_model(..., pretrained=PATH)`` and ``inference_model``) goes
    through :func:`load_checkpoint_file`. Other threads keep mmengine's own
    loader, and once the last block ends mmengine's loader is registered
    again, so other libraries in the process never get this policy. Blocks
    may nest.

    Example:
        >>> from mmpretrain import get_model
        >>> from mmsplitmix.utils import safe_checkpoint_loading
        >>> with safe_checkpoint_loading():
        ...     model = get_model('splitmixer-i-256-8_1xb512_cifar10',
        ...                       pretrained='work_dirs/x/epoch_100.pth')
    """
    global _scope_depth, _replaced_loader
    with _scope_lock:
        if _scope_depth == 0:
            _replaced_loader = CheckpointLoader._get_checkpoint_loader(
                _LOCAL_PREFIX)
            CheckpointLoader.register_scheme(
                prefixes=_LOCAL_PREFIX,
                loader=load_from_local_safely,
                force=True)
        _scope_depth += 1
    token = _safe_loading_active.set(True)
    try:
        yield
    finally:
        _safe_loading_active.reset(token)
        with _scope_lock:
            _scope_depth -= 1
            if _scope_depth == 0:
                CheckpointLoader.register_scheme(
                    prefixes=_LOCAL_PREFIX,
                    loader=_replaced_loader,
                    force=True)
                _replaced_loader = None
