import errno
import os

import pytest

from mmsplitmix.utils.atomic_io import (CheckpointSaveError, atomic_write,
                                        atomic_write_text, is_temporary_file,
                                        remove_stale_temporary_files,
                                        temporary_path)


def test_atomic_write_replaces_the_file_only_when_complete(tmp_path):
    target = tmp_path / 'epoch_1.pth'
    target.write_bytes(b'old')

    def dies_part_way(tmp):
        with open(tmp, 'wb') as f:
            f.write(b'ne')
        raise KeyboardInterrupt  # e.g. Ctrl-C during the save

    with pytest.raises(KeyboardInterrupt):
        atomic_write(str(target), dies_part_way)
    assert target.read_bytes() == b'old'
    assert os.listdir(tmp_path) == ['epoch_1.pth']

    atomic_write(str(target), lambda tmp: open(tmp, 'wb').write(b'new'))
    assert target.read_bytes() == b'new'
    assert os.listdir(tmp_path) == ['epoch_1.pth']


def test_full_disk_is_an_error_naming_the_file(tmp_path):
    target = tmp_path / 'last_checkpoint'
    target.write_text('epoch_1.pth')

    def full_disk(tmp):
        with open(tmp, 'w') as f:
            f.write('epo')
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with pytest.raises(CheckpointSaveError) as info:
        atomic_write(str(target), full_disk, what='the pointer')
    assert info.value.errno == errno.ENOSPC
    assert info.value.filename == str(target)
    assert str(info.value).startswith(
        f'Could not write the pointer {str(target)!r}: no space left on the '
        'device ([Errno 28])')
    assert target.read_text() == 'epoch_1.pth'
    assert os.listdir(tmp_path) == ['last_checkpoint']


def test_stale_temporary_files_are_recognised_and_removed(tmp_path):
    target = tmp_path / 'epoch_2.pth'
    stale = temporary_path(str(target))
    open(stale, 'wb').close()
    atomic_write_text(str(tmp_path / 'keep.txt'), 'x')
    assert is_temporary_file(os.path.basename(stale))
    assert not is_temporary_file('epoch_2.pth')
    remove_stale_temporary_files(str(tmp_path))
    assert os.listdir(tmp_path) == ['keep.txt']
