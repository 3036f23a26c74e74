"""Crash-safe writing of files: a temporary file beside the target, flushed
to disk, then renamed over it.

``os.replace`` is atomic on POSIX and Windows file systems, so a reader (or a
run resumed after a crash) sees either the old file or the complete new one,
never a truncated one. A write that fails (a full disk, a kill) leaves at
most the temporary file, which the failing process removes when it still
can; the next save in the same folder removes leftovers of killed ones.
"""
import errno
import os
import os.path as osp
from typing import Callable

TMP_SUFFIX = '.tmp'
TMP_PREFIX = '.'


class CheckpointSaveError(OSError):
    """Writing a checkpoint (or ``last_checkpoint``) failed; the message
    names the file. ``errno`` and ``filename`` are those of the file."""

    def __str__(self):
        return self.strerror


def temporary_path(path: str) -> str:
    """The temporary file :func:`atomic_write` writes ``path`` through: a
    hidden file in the same folder (so the rename never crosses file
    systems) that checkpoint scans ignore."""
    folder, name = osp.split(path)
    return osp.join(folder, f'{TMP_PREFIX}{name}.{os.getpid()}{TMP_SUFFIX}')


def is_temporary_file(name: str) -> bool:
    """Whether a file name is one of :func:`temporary_path`'s."""
    return name.startswith(TMP_PREFIX) and name.endswith(TMP_SUFFIX)


def fsync_file(path: str) -> None:
    """Flush a written file's data to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(folder: str) -> None:
    """Flush a folder's entries (a rename) to the disk where the platform
    allows it."""
    try:
        fd = os.open(folder or '.', os.O_RDONLY)
    except OSError:  # e.g. Windows cannot open folders
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems do not sync folders
    finally:
        os.close(fd)


def remove_quietly(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def commit_file(tmp_path: str, path: str) -> None:
    """Make a completely written temporary file the real one: fsync it,
    rename it over ``path``, fsync the folder."""
    fsync_file(tmp_path)
    os.replace(tmp_path, path)
    fsync_dir(osp.dirname(path))


def describe_write_error(error: OSError, path: str, what: str) -> str:
    """A message naming the file, the reason and what is left."""
    reason = error.strerror or str(error)
    if error.errno == errno.ENOSPC:
        reason = 'no space left on the device'
    elif error.errno == errno.EDQUOT:
        reason = 'disk quota exceeded'
    return (f'Could not write {what} {path!r}: {reason} '
            f'([Errno {error.errno}]). The file was not changed: the '
            'partial write went to a temporary file, which was removed.')


def atomic_write(path: str,
                 write: Callable[[str], None],
                 what: str = 'file') -> None:
    """Write ``path`` through a temporary file.

    Args:
        path (str): The file to create or replace.
        write (callable): Called with the temporary path; writes the whole
            content there.
        what (str): What the file is, for the error message.

    Raises:
        CheckpointSaveError: If writing, syncing or renaming fails (for
            example a full disk); ``path`` is then unchanged.
    """
    tmp_path = temporary_path(path)
    try:
        write(tmp_path)
        commit_file(tmp_path, path)
    except OSError as error:
        remove_quietly(tmp_path)
        raise CheckpointSaveError(error.errno,
                                  describe_write_error(error, path, what),
                                  path) from error
    except BaseException:
        remove_quietly(tmp_path)
        raise


def atomic_write_text(path: str, text: str, what: str = 'file') -> None:
    """:func:`atomic_write` of a text file."""

    def write(tmp_path):
        with open(tmp_path, 'w', encoding='utf-8') as f:
            f.write(text)
            f.flush()

    atomic_write(path, write, what)


def remove_stale_temporary_files(folder: str) -> None:
    """Remove temporary files that killed saves left in ``folder``."""
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        if is_temporary_file(name):
            remove_quietly(osp.join(folder, name))
