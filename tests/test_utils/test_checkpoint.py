import collections
import os

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub
from mmengine.runner import CheckpointLoader, load_checkpoint

import mmsplitmix  # noqa: F401  (registers the safe loader)
from mmsplitmix.utils import (TRUSTED_CHECKPOINTS_ENV, CorruptCheckpointError,
                              UnsafeCheckpointError, load_checkpoint_file,
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


def test_mmengine_loading_paths_use_the_safe_loader(tmp_path):
    path = tmp_path / 'epoch_2.pth'
    checkpoint = training_checkpoint()
    torch.save(checkpoint, path)
    loaded = CheckpointLoader.load_checkpoint(str(path), map_location='cpu')
    assert isinstance(loaded['message_hub']['log_scalars']['train/lr'],
                      HistoryBuffer)
    model = torch.nn.Linear(4, 2)
    load_checkpoint(model, str(path), map_location='cpu')
    assert torch.equal(model.weight, checkpoint['state_dict']['weight'])


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
    assert 'open' in message
    assert f'{TRUSTED_CHECKPOINTS_ENV}=1' in message
    assert not marker.exists()
    # Through mmengine as well.
    with pytest.raises(UnsafeCheckpointError):
        CheckpointLoader.load_checkpoint(str(path))
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
