"""The 'atomic_local' file backend: whole files or none, and removals that
wait for the next safe write."""
import builtins
import errno
import os

import pytest
from mmengine.fileio import get_file_backend

from mmsplitmix.engine import AtomicLocalBackend, CheckpointSaveError


class Killed(BaseException):
    """Stands in for SIGKILL: nothing of the writer's own cleanup runs."""


def failing_open(fault, match):
    """``open`` that writes half of a file named ``match``, then dies with
    ``fault``."""
    real_open = builtins.open

    class HalfFile:

        def __init__(self, file):
            self.file = file

        def write(self, data):
            self.file.write(data[:len(data) // 2])
            self.file.flush()
            raise fault

        def __getattr__(self, name):
            return getattr(self.file, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.file.close()

    def fake_open(file, mode='r', *args, **kwargs):
        opened = real_open(file, mode, *args, **kwargs)
        if 'w' in mode and match in os.fspath(file):
            return HalfFile(opened)
        return opened

    return fake_open


def test_registered_for_backend_args(tmp_path):
    backend = get_file_backend(
        str(tmp_path), backend_args=dict(backend='atomic_local'))
    assert isinstance(backend, AtomicLocalBackend)


def test_put_replaces_the_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / 'sub' / 'epoch_1.pth'
    backend = AtomicLocalBackend()
    backend.put(b'old', path)
    backend.put(b'new', path)
    backend.put_text('text', tmp_path / 'last_checkpoint')
    assert path.read_bytes() == b'new'
    assert (tmp_path / 'last_checkpoint').read_text() == 'text'
    assert sorted(os.listdir(path.parent)) == ['epoch_1.pth']


def test_full_disk_names_the_file_and_keeps_the_old_one(tmp_path, monkeypatch):
    path = tmp_path / 'epoch_1.pth'
    AtomicLocalBackend().put(b'complete', path)
    monkeypatch.setattr(
        builtins, 'open',
        failing_open(OSError(errno.ENOSPC, 'No space left'), 'epoch_1'))
    with pytest.raises(CheckpointSaveError) as error:
        AtomicLocalBackend().put(b'a new checkpoint', path)
    assert error.value.errno == errno.ENOSPC
    assert str(path) in str(error.value)
    assert 'no space left on the device' in str(error.value)
    monkeypatch.undo()
    assert path.read_bytes() == b'complete'
    assert os.listdir(tmp_path) == ['epoch_1.pth']


def test_a_killed_write_leaves_the_old_file_and_is_cleaned_up(
        tmp_path, monkeypatch):
    path = tmp_path / 'epoch_1.pth'
    AtomicLocalBackend().put(b'complete', path)
    monkeypatch.setattr(builtins, 'open', failing_open(Killed(), 'epoch_1'))
    with pytest.raises(Killed):
        AtomicLocalBackend().put(b'a new checkpoint', path)
    monkeypatch.undo()
    assert path.read_bytes() == b'complete'
    leftovers = [name for name in os.listdir(tmp_path) if name.endswith('tmp')]
    assert len(leftovers) == 1
    AtomicLocalBackend().put(b'next', tmp_path / 'epoch_2.pth')
    assert sorted(os.listdir(tmp_path)) == ['epoch_1.pth', 'epoch_2.pth']


def test_removal_waits_for_the_next_safe_write(tmp_path, monkeypatch):
    old, new = tmp_path / 'epoch_1.pth', tmp_path / 'epoch_2.pth'
    backend = AtomicLocalBackend()
    backend.put(b'1', old)
    backend.remove(old)  # CheckpointHook removes before it saves
    assert old.exists()
    monkeypatch.setattr(builtins, 'open', failing_open(Killed(), 'epoch_2'))
    with pytest.raises(Killed):
        AtomicLocalBackend().put(b'2', new)
    monkeypatch.undo()
    assert old.exists(), 'the write failed: the old file must stay'
    AtomicLocalBackend().put(b'2', new)
    assert not old.exists() and new.read_bytes() == b'2'


def test_a_file_removed_then_written_again_is_kept(tmp_path):
    path = tmp_path / 'epoch_1.pth'
    backend = AtomicLocalBackend()
    backend.put(b'1', path)
    backend.remove(path)
    backend.put(b'again', path)
    assert path.read_bytes() == b'again'


def test_removing_a_missing_file_fails_as_mmengine_does(tmp_path):
    with pytest.raises(FileNotFoundError):
        AtomicLocalBackend().remove(tmp_path / 'missing.pth')
