"""A local file backend under which no crash loses a checkpoint.

mmengine writes checkpoints through the file backend that
``CheckpointHook(backend_args=dict(backend=...))`` names. This one,
registered as ``'atomic_local'``, is mmengine's local-disk backend with two
changes:

* ``put`` and ``put_text`` write a hidden temporary file in the target's
  folder, flush it to the disk and rename it over the target, so that a kill
  or a full disk leaves the old file or the complete new one, never a
  truncated one. A failed write raises :class:`CheckpointSaveError`, which
  names the file; leftovers of killed writes are removed by the next write
  into the folder.
* ``remove`` is carried out once the next file written into the same folder
  is safe on the disk. ``CheckpointHook`` removes the outdated checkpoint
  (``max_keep_ckpts``, the previous best) *before* it saves the new one; with
  this backend the run always keeps its newest checkpoints.
"""
import errno
import os
import os.path as osp
import re
from typing import Dict, Set

from mmengine.fileio import LocalBackend, register_backend

_TEMPORARY = re.compile(r'^\..+\.\d+\.tmp$')


class CheckpointSaveError(OSError):
    """Writing a file failed; the message names it and what is left."""

    def __str__(self):
        return self.strerror


def fsync_folder(path: str) -> None:
    """Flush a folder's entries (a rename) to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:  # some file systems cannot sync folders
        pass
    finally:
        os.close(fd)


@register_backend('atomic_local')
class AtomicLocalBackend(LocalBackend):
    """mmengine's :class:`~mmengine.fileio.LocalBackend` whose writes replace
    files atomically and whose removals wait for the next write (see the
    module's documentation).

    Example:
        >>> checkpoint = dict(
        ...     type='CheckpointHook',
        ...     backend_args=dict(backend='atomic_local'))
    """

    #: Removals waiting for the next write, by folder. Class-wide, since
    #: mmengine builds a new backend for every checkpoint it saves.
    pending_removals: Dict[str, Set[str]] = {}

    def put(self, obj: bytes, filepath) -> None:
        self._write(str(filepath), 'wb', obj)

    def put_text(self, obj: str, filepath, encoding: str = 'utf-8') -> None:
        self._write(str(filepath), 'w', obj, encoding)

    def remove(self, filepath) -> None:
        path = osp.abspath(str(filepath))
        if not osp.isfile(path):
            super().remove(path)  # mmengine's errors for a missing file
        self.pending_removals.setdefault(osp.dirname(path), set()).add(path)

    def _write(self, path, mode, content, encoding=None) -> None:
        path = osp.abspath(path)
        folder, name = osp.split(path)
        os.makedirs(folder, exist_ok=True)
        tmp_path = osp.join(folder, f'.{name}.{os.getpid()}.tmp')
        try:
            with open(tmp_path, mode, encoding=encoding) as f:
                f.write(content)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp_path, path)
        except OSError as error:
            if osp.exists(tmp_path):
                os.remove(tmp_path)
            reason = ('no space left on the device' if error.errno
                      == errno.ENOSPC else error.strerror or str(error))
            raise CheckpointSaveError(
                error.errno, f'could not write {path!r}: {reason}. The file '
                'was left as it was; the partial write went to a temporary '
                'file, which was removed.', path) from error
        fsync_folder(folder)
        self._finish_removals(folder, written=path)

    def _finish_removals(self, folder: str, written: str) -> None:
        pending = self.pending_removals.pop(folder, set())
        pending.discard(written)  # removed, then written anew: keep it
        leftovers = [
            osp.join(folder, name) for name in os.listdir(folder)
            if _TEMPORARY.match(name)
        ]
        for path in sorted(pending) + leftovers:
            if osp.isfile(path):
                os.remove(path)
