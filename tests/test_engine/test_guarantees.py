"""The guarantees of configs/_base_/default_runtime.py, through a user's
own ``Runner.from_cfg(cfg)``: no tool of this project is involved."""
import builtins
import errno
import itertools
import os
import os.path as osp
import pickle

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mmsplitmix.engine import (CheckpointMismatchError, CheckpointSaveError,
                               CorruptCheckpointError, SplitClassesError,
                               UnsafeCheckpointError, WorkDirInUseError,
                               read_checkpoint)
from tests.test_engine.test_checkpoint_backend import Killed, failing_open

_names = itertools.count()


def tiny_cfg(config_path, work_dir, **options):
    cfg = Config.fromfile(str(config_path))
    cfg.work_dir = str(work_dir)
    # one logger and scope per runner, even two in the same second
    cfg.experiment_name = f'run{next(_names)}'
    cfg.merge_from_dict(options)
    return cfg


def train(cfg):
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner


def evaluate(cfg, checkpoint):
    cfg.load_from = str(checkpoint)
    return Runner.from_cfg(cfg).test()


def weights(path):
    return read_checkpoint(str(path), mmap=False)['state_dict']


def assert_same_weights(a, b):
    assert a.keys() == b.keys()
    assert all(torch.equal(a[key], b[key]) for key in a)


def pointer(work_dir):
    return (work_dir / 'last_checkpoint').read_text()


@pytest.fixture(scope='module')
def trained(tiny_config, tmp_path_factory):
    """Three epochs with two persistent data workers and random
    augmentation, uninterrupted."""
    work_dir = tmp_path_factory.mktemp('trained')
    loader = dict(num_workers=2, persistent_workers=True)
    train(
        tiny_cfg(
            tiny_config,
            work_dir,
            train_dataloader=loader,
            **{'default_hooks.checkpoint.max_keep_ckpts': 1}))
    return work_dir


def test_checkpoints_are_only_ever_renamed_into_place(tiny_config, tmp_path,
                                                      monkeypatch):
    written = []
    real_open = builtins.open

    def recording_open(file, mode='r', *args, **kwargs):
        if isinstance(file, (str, os.PathLike)) and 'w' in mode:
            written.append(osp.relpath(os.fspath(file), tmp_path))
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, 'open', recording_open)
    train(tiny_cfg(tiny_config, tmp_path, **{'train_cfg.max_epochs': 2}))
    monkeypatch.undo()
    assert not [n for n in written if n.endswith('.pth')], written
    assert any(n.startswith('.epoch_2.pth.') for n in written)
    assert 'last_checkpoint' not in written
    assert osp.join('.staging', 'last_checkpoint') in written
    assert pointer(tmp_path) == str(tmp_path / 'epoch_2.pth')
    assert os.listdir(tmp_path / '.staging') == []
    assert not [n for n in os.listdir(tmp_path) if n.endswith('.tmp')]


def test_killed_during_a_save_resumes_to_the_same_weights(
        tiny_config, trained, tmp_path, monkeypatch):
    """Killed while epoch 2 is being saved (max_keep_ckpts=1, so mmengine
    has already asked to remove epoch 1), then resumed: every weight ends
    as in the uninterrupted run, random augmentation and data workers
    included."""
    loader = dict(num_workers=2, persistent_workers=True)
    cfg = tiny_cfg(
        tiny_config,
        tmp_path,
        train_dataloader=loader,
        **{'default_hooks.checkpoint.max_keep_ckpts': 1})
    monkeypatch.setattr(builtins, 'open', failing_open(Killed(), 'epoch_2'))
    with pytest.raises(Killed):
        train(cfg)
    monkeypatch.undo()
    assert pointer(tmp_path) == str(tmp_path / 'epoch_1.pth')
    assert weights(tmp_path / 'epoch_1.pth')  # kept, and complete

    train(
        tiny_cfg(tiny_config, tmp_path, train_dataloader=loader, resume=True))
    assert_same_weights(
        weights(tmp_path / 'epoch_3.pth'), weights(trained / 'epoch_3.pth'))
    assert not (tmp_path / 'epoch_1.pth').exists()  # max_keep_ckpts=1


def test_a_full_disk_stops_training_naming_the_file(tiny_config, tmp_path,
                                                    monkeypatch):
    monkeypatch.setattr(
        builtins, 'open',
        failing_open(OSError(errno.ENOSPC, 'No space left'), 'epoch_2'))
    with pytest.raises(CheckpointSaveError, match='epoch_2.pth'):
        train(tiny_cfg(tiny_config, tmp_path))
    monkeypatch.undo()
    assert sorted(n for n in os.listdir(tmp_path) if n.endswith('.pth')) == [
        'best_accuracy_top1_epoch_1.pth', 'epoch_1.pth'
    ]
    assert weights(tmp_path / 'epoch_1.pth')


def test_resume_falls_back_to_the_newest_readable_checkpoint(
        tiny_config, trained, tmp_path):
    for name in ('epoch_2.pth', 'epoch_3.pth'):
        data = (trained / 'epoch_3.pth').read_bytes()
        (tmp_path / name).write_bytes(data[:len(data) // 3])
    (tmp_path / 'epoch_1.pth').write_bytes(
        (trained / 'epoch_3.pth').read_bytes())
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_3.pth'))
    runner = train(tiny_cfg(tiny_config, tmp_path, resume=True))
    # epoch_1.pth holds the state after epoch 3: nothing is left to train
    assert runner.epoch == 3
    assert pointer(tmp_path) == str(tmp_path / 'epoch_1.pth')


def test_resume_without_checkpoints_starts_from_scratch(tiny_config, tmp_path):
    (tmp_path / 'last_checkpoint').write_text('')
    runner = train(
        tiny_cfg(
            tiny_config, tmp_path, resume=True, **{'train_cfg.max_epochs': 1}))
    assert runner.epoch == 1
    assert (tmp_path / 'last_checkpoint.unreadable').exists()


def test_a_new_run_into_a_used_work_dir_is_refused(tiny_config, trained):

    def run_files():
        return {
            name: (trained / name).read_bytes()
            for name in os.listdir(trained)
            if name.endswith('.pth') or name == 'last_checkpoint'
        }

    before = run_files()
    with pytest.raises(WorkDirInUseError, match='epoch_3.pth'):
        train(tiny_cfg(tiny_config, trained))
    assert run_files() == before


def test_a_booby_trapped_checkpoint_is_refused_unrun(tiny_config, trained,
                                                     tmp_path):
    marker = tmp_path / 'ran'

    class Payload:

        def __reduce__(self):
            return (os.system, (f'touch {marker}', ))

    checkpoint = torch.load(trained / 'epoch_3.pth', weights_only=False)
    checkpoint['meta']['note'] = Payload()
    torch.save(checkpoint, tmp_path / 'trap.pth')
    with pytest.raises(UnsafeCheckpointError, match=r'trap.pth.*system'):
        evaluate(
            tiny_cfg(tiny_config, tmp_path / 'test'), tmp_path / 'trap.pth')
    with pytest.raises(pickle.UnpicklingError):
        train(
            tiny_cfg(
                tiny_config,
                tmp_path / 'resume',
                resume=True,
                load_from=str(tmp_path / 'trap.pth')))
    assert not marker.exists()
    data = (trained / 'epoch_3.pth').read_bytes()
    (tmp_path / 'cut.pth').write_bytes(data[:100])
    with pytest.raises(CorruptCheckpointError, match='cut.pth'):
        evaluate(
            tiny_cfg(tiny_config, tmp_path / 'test'), tmp_path / 'cut.pth')


def test_safe_loading_is_scoped_to_the_run(tiny_config, trained, tmp_path):
    before = torch.serialization.get_safe_globals()
    metrics = evaluate(
        tiny_cfg(tiny_config, tmp_path), trained / 'epoch_3.pth')
    assert 'accuracy/top1' in metrics
    assert torch.serialization.get_safe_globals() == before


def test_a_checkpoint_of_another_model_is_refused(tiny_config, trained,
                                                  tmp_path):
    wider = {
        'model.backbone.arch.embed_dims': 24,
        'model.head.in_channels': 24
    }
    with pytest.raises(
            CheckpointMismatchError,
            match=r'does not fit.*of another shape: backbone.stem.0.weight'):
        evaluate(
            tiny_cfg(tiny_config, tmp_path, **wider), trained / 'epoch_3.pth')
    setting = {'model.backbone.mixer_setting': 'II'}
    with pytest.raises(
            CheckpointMismatchError,
            match="mixer_setting='I'.*this model has mixer_setting='II'"):
        evaluate(
            tiny_cfg(tiny_config, tmp_path, **setting),
            trained / 'epoch_3.pth')
    # fine-tuning loads what fits and says what it skipped
    runner = train(
        tiny_cfg(
            tiny_config,
            tmp_path / 'finetune',
            load_from=str(trained / 'epoch_3.pth'),
            **{
                'model.head.num_classes': 3,
                'train_cfg.max_epochs': 1,
                'model.backbone.arch.depth': 3
            }))
    assert runner.epoch == 1


def test_resuming_with_another_schedule_is_refused(tiny_config, trained,
                                                   tmp_path):
    for name in os.listdir(trained):
        if name == 'epoch_3.pth':
            (tmp_path / name).write_bytes((trained / name).read_bytes())
    with pytest.raises(
            CheckpointMismatchError,
            match=r'over the steps \[0, 3\), this config over \[0, 5\)'):
        train(
            tiny_cfg(
                tiny_config,
                tmp_path,
                resume=True,
                **{'train_cfg.max_epochs': 5}))


def test_splits_must_mean_the_same_classes(tiny_config, tiny_data, tmp_path):
    val = tmp_path / 'val'
    for name in ('red', 'blue'):
        os.makedirs(val / name)
        (val / name / '0.png').write_bytes(
            (tiny_data / name / '0.png').read_bytes())
    with pytest.raises(SplitClassesError, match=r"missing \['green'\]"):
        train(
            tiny_cfg(tiny_config, tmp_path / 'run',
                     **{'val_dataloader.dataset.data_root': str(val)}))
    with pytest.raises(
            SplitClassesError,
            match='has 3 classes but model.head.num_classes is 4'):
        train(
            tiny_cfg(tiny_config, tmp_path / 'head',
                     **{'model.head.num_classes': 4}))
