import collections
import os
import pickle
import threading
import zipfile

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub
from mmengine.runner import CheckpointLoader, load_checkpoint
from mmengine.runner.checkpoint import load_from_local

import mmsplitmix  # noqa: F401
from mmsplitmix.utils import (TRUSTED_CHECKPOINTS_ENV, CorruptCheckpointError,
                              UnsafeCheckpointError, load_checkpoint_file,
                              safe_checkpoint_loading,
                              trusted_checkpoints_enabled)
from mmsplitmix.utils.checkpoint import ALLOWED_NUMPY_DTYPES


@pytest.fixture(autouse=True)
def untrusted(monkeypatch):
    monkeypatch.delenv(TRUSTED_CHECKPOINTS_ENV, raising=False)


def training_checkpoint():
    """A checkpoint shaped like the ones mmengine's Runner saves."""
    hub = MessageHub('test_checkpoint_hub')
    for step in range(3):
        hub.update_scalar('train/loss', 1.0 / (step + 1))
        hub.update_scalar('train/lr', np.float64(0.1))
    hub.update_info('epoch', 2)
    hub.update_info('dataset_meta', dict(classes=('a', 'b')))
    model = torch.nn.Linear(4, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.ones(1, 4)).sum().backward()
    optimizer.step()
    return dict(
        meta=dict(
            epoch=2, iter=6, seed=0, dataset_meta=dict(classes=('a', 'b'))),
        state_dict=model.state_dict(),
        message_hub=hub.state_dict(),
        optimizer=optimizer.state_dict(),
        param_schedulers=[
            dict(milestones=collections.Counter({2: 1}), last_step=2)
        ])


def test_loads_a_training_checkpoint_with_weights_only(tmp_path):
    path = tmp_path / 'epoch_2.pth'
    checkpoint = training_checkpoint()
    torch.save(checkpoint, path)
    # torch's own weights-only loading refuses it ...
    with pytest.raises(Exception, match='Weights only load failed'):
        torch.load(path, weights_only=True)
    # ... the safe loader accepts exactly these extra types.
    loaded = load_checkpoint_file(str(path), map_location='cpu')
    buffer = loaded['message_hub']['log_scalars']['train/loss']
    assert isinstance(buffer, HistoryBuffer)
    assert buffer.mean() == pytest.approx((1 + 1 / 2 + 1 / 3) / 3)
    assert buffer.statistics('min') == pytest.approx(1 / 3)
    assert loaded['param_schedulers'][0]['milestones'] == {2: 1}
    for name, value in checkpoint['state_dict'].items():
        assert torch.equal(loaded['state_dict'][name], value)
    assert loaded['optimizer']['state'][0]['momentum_buffer'].shape == (2, 4)


@pytest.mark.parametrize('zip_format', [True, False])
def test_mapped_loading_gives_the_same_checkpoint(tmp_path, monkeypatch,
                                                  zip_format):
    """mmap=True maps the tensors of a zip-format file (legacy files are
    read, as torch cannot map them) and loads the same values."""
    path = tmp_path / 'epoch_2.pth'
    torch.save(
        training_checkpoint(), path, _use_new_zipfile_serialization=zip_format)
    read = load_checkpoint_file(str(path), map_location='cpu')
    torch_load, mapped_loads = torch.load, []

    def recording_load(*args, mmap=None, **kwargs):
        mapped_loads.append(mmap)
        return torch_load(*args, mmap=mmap, **kwargs)

    monkeypatch.setattr(torch, 'load', recording_load)
    mapped = load_checkpoint_file(str(path), map_location='cpu', mmap=True)
    assert mapped_loads == [zip_format]
    assert mapped['meta'] == read['meta']
    for name, value in read['state_dict'].items():
        assert torch.equal(mapped['state_dict'][name], value)


@pytest.mark.parametrize('dtype', ALLOWED_NUMPY_DTYPES)
def test_numeric_numpy_arrays_and_scalars_load(tmp_path, dtype):
    path = tmp_path / 'arrays.pth'
    array = np.arange(6).reshape(2, 3).astype(dtype)
    torch.save(dict(array=array, scalar=array.flat[1]), path)
    loaded = load_checkpoint_file(str(path))
    np.testing.assert_array_equal(loaded['array'], array)
    assert loaded['array'].dtype == array.dtype
    assert loaded['scalar'] == array.flat[1]
    assert loaded['scalar'].dtype == array.dtype


def mmengines_local_loader():
    return CheckpointLoader._get_checkpoint_loader('')


@pytest.fixture
def saved_training_checkpoint(tmp_path):
    path = tmp_path / 'epoch_2.pth'
    checkpoint = training_checkpoint()
    torch.save(checkpoint, path)
    return str(path), checkpoint


def test_import_leaves_mmengines_loader_alone(saved_training_checkpoint):
    path, _ = saved_training_checkpoint
    assert mmengines_local_loader() is load_from_local
    # mmengine's own policy (torch's weights-only default) applies outside
    # a block: another library in the process sees no change.
    with pytest.raises(pickle.UnpicklingError, match='HistoryBuffer'):
        CheckpointLoader.load_checkpoint(path, map_location='cpu')


def test_mmengine_loading_paths_are_safe_inside_the_block(
        saved_training_checkpoint):
    path, checkpoint = saved_training_checkpoint
    with safe_checkpoint_loading():
        loaded = CheckpointLoader.load_checkpoint(path, map_location='cpu')
        model = torch.nn.Linear(4, 2)
        load_checkpoint(model, path, map_location='cpu')
    assert isinstance(loaded['message_hub']['log_scalars']['train/lr'],
                      HistoryBuffer)
    assert torch.equal(model.weight, checkpoint['state_dict']['weight'])
    assert mmengines_local_loader() is load_from_local


def test_blocks_nest_and_restore_mmengines_loader_on_errors(
        saved_training_checkpoint):
    path, _ = saved_training_checkpoint
    with pytest.raises(KeyError):
        with safe_checkpoint_loading():
            with safe_checkpoint_loading():
                pass
            # Still inside the outer block.
            CheckpointLoader.load_checkpoint(path, map_location='cpu')
            raise KeyError('stop')
    assert mmengines_local_loader() is load_from_local
    with pytest.raises(pickle.UnpicklingError):
        CheckpointLoader.load_checkpoint(path, map_location='cpu')


def test_other_threads_keep_mmengines_policy_during_a_block(
        saved_training_checkpoint):
    path, _ = saved_training_checkpoint
    errors = []

    def load_elsewhere():
        try:
            CheckpointLoader.load_checkpoint(path, map_location='cpu')
        except Exception as error:  # noqa: BLE001
            errors.append(error)

    with safe_checkpoint_loading():
        thread = threading.Thread(target=load_elsewhere)
        thread.start()
        thread.join()
        CheckpointLoader.load_checkpoint(path, map_location='cpu')
    assert len(errors) == 1
    assert isinstance(errors[0], pickle.UnpicklingError)
    assert not isinstance(errors[0], UnsafeCheckpointError)


class _CreatesMarker:

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, 'w'))


class _GetattrOfAllowedClass:
    """Abuses the one allowed use of getattr."""

    def __reduce__(self):
        return (getattr, (HistoryBuffer, '__init__'))


@pytest.mark.parametrize('zip_format', [True, False])
def test_pickled_code_is_refused_and_does_not_run(tmp_path, zip_format):
    marker = tmp_path / 'code_ran'
    path = tmp_path / 'malicious.pth'
    torch.save(
        dict(
            state_dict=dict(w=torch.ones(1)),
            meta=_CreatesMarker(str(marker))),
        path,
        _use_new_zipfile_serialization=zip_format)
    with pytest.raises(UnsafeCheckpointError) as info:
        load_checkpoint_file(str(path))
    message = str(info.value)
    assert repr(str(path)) in message
    assert f'{TRUSTED_CHECKPOINTS_ENV}=1' in message
    if zip_format:  # the disallowed globals are named before unpickling
        assert f'{open.__module__}.open' in message
    else:  # PyTorch's unpickler explains, in the chained exception
        assert isinstance(info.value.__cause__, pickle.UnpicklingError)
        assert 'open' in str(info.value.__cause__)
    assert not marker.exists()
    # Through mmengine as well.
    with safe_checkpoint_loading(), pytest.raises(UnsafeCheckpointError):
        CheckpointLoader.load_checkpoint(str(path))
    assert not marker.exists()


def test_the_unpickler_refuses_what_the_scan_cannot_read(
        tmp_path, monkeypatch):
    marker = tmp_path / 'code_ran'
    path = tmp_path / 'malicious.pth'
    torch.save(dict(meta=_CreatesMarker(str(marker))), path)

    def unreadable(filename):
        raise RuntimeError('scan failed')

    monkeypatch.setattr(torch.serialization,
                        'get_unsafe_globals_in_checkpoint', unreadable)
    with pytest.raises(UnsafeCheckpointError, match='malicious.pth'):
        load_checkpoint_file(str(path))
    assert not marker.exists()


@pytest.mark.parametrize(
    'payload', [
        np.array([1, 'x'], dtype=object),
        _GetattrOfAllowedClass(),
        np.array([(1, 2.0)], dtype=[('a', 'i4'), ('b', 'f8')]),
    ],
    ids=['object-array', 'getattr', 'structured-array'])
def test_types_outside_the_allowed_set_are_refused(tmp_path, payload):
    path = tmp_path / 'other.pth'
    torch.save(dict(payload=payload), path)
    with pytest.raises(UnsafeCheckpointError, match='Refused to load'):
        load_checkpoint_file(str(path))


# A custom class, as old checkpoints sometimes hold: not allowed by default.
LegacyMeta = collections.namedtuple('LegacyMeta', 'a')


def test_trusted_opt_in_loads_legacy_objects(tmp_path, monkeypatch):
    path = tmp_path / 'legacy.pth'
    torch.save(dict(meta=LegacyMeta(1)), path)
    with pytest.raises(UnsafeCheckpointError):
        load_checkpoint_file(str(path))
    assert load_checkpoint_file(str(path), trusted=True)['meta'] == (1, )
    monkeypatch.setenv(TRUSTED_CHECKPOINTS_ENV, '1')
    assert trusted_checkpoints_enabled()
    assert load_checkpoint_file(str(path))['meta'] == (1, )


@pytest.mark.parametrize('value,expected', [('1', True), ('true', True),
                                            ('YES', True), ('0', False),
                                            ('', False), ('off', False)])
def test_trusted_env_values(monkeypatch, value, expected):
    monkeypatch.setenv(TRUSTED_CHECKPOINTS_ENV, value)
    assert trusted_checkpoints_enabled() is expected


def test_trusted_env_rejects_unknown_values(monkeypatch, tmp_path):
    monkeypatch.setenv(TRUSTED_CHECKPOINTS_ENV, 'maybe')
    path = tmp_path / 'a.pth'
    torch.save(dict(a=torch.ones(1)), path)
    with pytest.raises(ValueError, match=TRUSTED_CHECKPOINTS_ENV):
        load_checkpoint_file(str(path))


def test_missing_checkpoint_names_the_file(tmp_path):
    path = tmp_path / 'missing.pth'
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        load_checkpoint_file(str(path))
    with pytest.raises(FileNotFoundError, match='not a file'):
        load_checkpoint_file(str(tmp_path))


@pytest.mark.parametrize('zip_format', [True, False])
@pytest.mark.parametrize('keep', [0, 10, 200, 0.5])
def test_truncated_checkpoint_names_the_file(tmp_path, zip_format, keep):
    full = tmp_path / 'full.pth'
    torch.save(
        training_checkpoint(), full, _use_new_zipfile_serialization=zip_format)
    data = full.read_bytes()
    size = int(len(data) * keep) if isinstance(keep, float) else keep
    path = tmp_path / 'truncated.pth'
    path.write_bytes(data[:size])
    with pytest.raises(CorruptCheckpointError) as info:
        load_checkpoint_file(str(path))
    assert repr(str(path)) in str(info.value)


def test_legacy_file_cut_in_its_storages_is_corrupt(tmp_path):
    path = tmp_path / 'legacy.pth'
    torch.save(
        dict(w=torch.ones(1000)), path, _use_new_zipfile_serialization=False)
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(CorruptCheckpointError, match='legacy.pth'):
        load_checkpoint_file(str(path))


def test_zip_archive_that_is_no_checkpoint(tmp_path):
    path = tmp_path / 'archive.pth'
    with zipfile.ZipFile(path, 'w') as archive:
        archive.writestr('notes/readme.txt', 'hello')
    with pytest.raises(
            CorruptCheckpointError, match='archive.pth.*not a PyTorch'):
        load_checkpoint_file(str(path))


@pytest.mark.parametrize('zip_format', [True, False])
def test_errors_are_told_apart_by_type_not_wording(tmp_path, monkeypatch,
                                                   zip_format):
    path = tmp_path / 'weights.pth'
    torch.save(
        dict(w=torch.ones(2)), path, _use_new_zipfile_serialization=zip_format)

    def fail_with(error):

        def load(*args, **kwargs):
            raise error

        monkeypatch.setattr(torch, 'load', load)

    fail_with(pickle.UnpicklingError('wording of a future torch'))
    with pytest.raises(UnsafeCheckpointError, match='weights.pth'):
        load_checkpoint_file(str(path))
    fail_with(RuntimeError('wording of a future torch'))
    # A complete zip archive is not called corrupt; a legacy file whose
    # pickles are complete but whose storages fail to read is.
    expected = RuntimeError if zip_format else CorruptCheckpointError
    with pytest.raises(expected, match='weights.pth') as info:
        load_checkpoint_file(str(path))
    assert zip_format != isinstance(info.value, CorruptCheckpointError)


def test_garbage_file_names_the_file(tmp_path):
    path = tmp_path / 'notes.pth'
    path.write_text('not a checkpoint\n' * 20)
    with pytest.raises(CorruptCheckpointError, match='notes.pth'):
        load_checkpoint_file(str(path))


def test_home_directory_is_expanded(tmp_path, monkeypatch):
    monkeypatch.setenv('HOME', str(tmp_path))
    torch.save(dict(a=torch.ones(1)), tmp_path / 'home.pth')
    assert torch.equal(
        load_checkpoint_file(os.path.join('~', 'home.pth'))['a'],
        torch.ones(1))
