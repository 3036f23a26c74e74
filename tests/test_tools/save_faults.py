"""Simulated faults while the training tool writes a file, for the
checkpoint tests: imported through ``custom_imports``, it makes one write of
a chosen file die part-way.

Environment:
    SAVE_FAULT: ``kill`` (the process is killed with SIGKILL after half the
        data is written and flushed) or ``enospc`` (the write raises
        ``OSError(ENOSPC)`` after half the data, as a full disk does).
    SAVE_FAULT_FILE: the fault hits files whose name matches this regular
        expression (``re.match`` on the file name).
    SAVE_FAULT_NTH: which opening for writing of such a file (1-based) it
        hits. Defaults to 1.
"""
import builtins
import errno
import os
import os.path as osp
import re
import signal

_MODE = os.environ.get('SAVE_FAULT')
_MATCH = os.environ.get('SAVE_FAULT_FILE', '')
_NTH = int(os.environ.get('SAVE_FAULT_NTH', '1'))
_seen = 0
_open = builtins.open


class _FailingFile:
    """Writes half of the first write, then dies as configured."""

    def __init__(self, file):
        self._file = file

    def write(self, data):
        self._file.write(data[:len(data) // 2])
        self._file.flush()
        os.fsync(self._file.fileno())
        if _MODE == 'kill':
            os.kill(os.getpid(), signal.SIGKILL)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def __getattr__(self, name):
        return getattr(self._file, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self._file.close()
        return False


def _faulty_open(file, mode='r', *args, **kwargs):
    global _seen
    opened = _open(file, mode, *args, **kwargs)
    if (isinstance(file, (str, os.PathLike)) and 'w' in mode
            and re.match(_MATCH, osp.basename(os.fspath(file)))):
        _seen += 1
        if _seen == _NTH:
            return _FailingFile(opened)
    return opened


if _MODE in ('kill', 'enospc') and _MATCH:
    builtins.open = _faulty_open
